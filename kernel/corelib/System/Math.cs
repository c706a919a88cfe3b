namespace System
{
    /// <summary>Integer helpers (no floating-point functions freestanding).</summary>
    public static class Math
    {
        public static int Min(int a, int b) => a <= b ? a : b;
        public static uint Min(uint a, uint b) => a <= b ? a : b;
        public static long Min(long a, long b) => a <= b ? a : b;
        public static ulong Min(ulong a, ulong b) => a <= b ? a : b;
        public static nint Min(nint a, nint b) => a <= b ? a : b;
        public static nuint Min(nuint a, nuint b) => a <= b ? a : b;
        public static int Max(int a, int b) => a >= b ? a : b;
        public static uint Max(uint a, uint b) => a >= b ? a : b;
        public static long Max(long a, long b) => a >= b ? a : b;
        public static ulong Max(ulong a, ulong b) => a >= b ? a : b;
        public static nint Max(nint a, nint b) => a >= b ? a : b;
        public static nuint Max(nuint a, nuint b) => a >= b ? a : b;
        public static int Abs(int v) => v < 0 ? -v : v;
        public static long Abs(long v) => v < 0 ? -v : v;
        public static int Clamp(int v, int min, int max) => v < min ? min : v > max ? max : v;
        public static ulong Clamp(ulong v, ulong min, ulong max) => v < min ? min : v > max ? max : v;
        public static ulong DivRem(ulong a, ulong b, out ulong remainder) { ulong q = a / b; remainder = a - q * b; return q; }
    }
}
