# Writes OUT as a C file defining `const char *const NAME`, the bytes of FILE plus a NUL.
file(READ ${FILE} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from ${FILE} by cmake/embed_text.cmake — do not edit */\n"
     "static const unsigned char ${NAME}_bytes[] = {${bytes}0x00};\n"
     "const char *const ${NAME} = (const char *)${NAME}_bytes;\n")
