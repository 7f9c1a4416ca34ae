/* lib.c - the one-function DLL of corpus/pe.sh (lib.dll, PE32+, mingw-w64 -shared). */
__declspec(dllexport) int sgs_answer(int x)
{
    return 42 + x;
}
