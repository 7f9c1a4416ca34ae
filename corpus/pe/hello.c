/* hello.c - the program image of corpus/pe.sh (built as hello.exe, PE32+, and hello32.exe,
 * PE32, with mingw-w64). Never run by the tests: only its bytes matter. */
#include <stdio.h>

int main(void)
{
    puts("hello from the sigsweep Authenticode test corpus");
    return 0;
}
