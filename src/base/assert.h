/* assert.h — always-on assertions. They document and enforce programmer invariants in
 * every build, release included; a failed one prints file:line and aborts. Never use them
 * for operating errors (bad input, full disk): those return a status. */
#ifndef TESSERA_BASE_ASSERT_H
#define TESSERA_BASE_ASSERT_H

_Noreturn void assert_fail(const char *expr, const char *file, int line);

#define verify(expr) ((expr) ? (void)0 : assert_fail(#expr, __FILE__, __LINE__))

#endif
