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

        // ---- helpers ilc calls by name on 32-bit targets (i386) --------------------------------
        // The x86 code generator has no instruction for 64-bit division, remainder or checked
        // multiplication and calls these instead (it also wants the 32-bit ones to exist; on x86
        // their own '/' and '%' are plain idiv/div). The 64-bit ones must not use 64-bit '/' or
        // '%' themselves: long division by shift and subtract, one quotient bit per step.

        private static int DivInt32(int dividend, int divisor) { if (divisor == 0) ThrowDivideByZero(); return dividend / divisor; }
        private static uint DivUInt32(uint dividend, uint divisor) { if (divisor == 0) ThrowDivideByZero(); return dividend / divisor; }
        private static int ModInt32(int dividend, int divisor) { if (divisor == 0) ThrowDivideByZero(); return dividend % divisor; }
        private static uint ModUInt32(uint dividend, uint divisor) { if (divisor == 0) ThrowDivideByZero(); return dividend % divisor; }

        private static ulong DivUInt64(ulong dividend, ulong divisor)
        {
            if (divisor == 0) ThrowDivideByZero();
            return DivMod(dividend, divisor, out _);
        }

        private static ulong ModUInt64(ulong dividend, ulong divisor)
        {
            if (divisor == 0) ThrowDivideByZero();
            DivMod(dividend, divisor, out ulong remainder);
            return remainder;
        }

        private static long DivInt64(long dividend, long divisor)
        {
            if (divisor == 0) ThrowDivideByZero();
            if (divisor == -1 && dividend == long.MinValue) Environment.FailFast("arithmetic overflow");
            ulong q = DivMod(Magnitude(dividend), Magnitude(divisor), out _);
            return (dividend < 0) != (divisor < 0) ? -(long)q : (long)q;
        }

        private static long ModInt64(long dividend, long divisor)
        {
            if (divisor == 0) ThrowDivideByZero();
            if (divisor == -1) return 0;
            DivMod(Magnitude(dividend), Magnitude(divisor), out ulong r);
            return dividend < 0 ? -(long)r : (long)r;   // the remainder takes the dividend's sign
        }

        private static long MultiplyChecked(long a, long b)
        {
            bool negative = (a < 0) != (b < 0);
            ulong product = MultiplyChecked(Magnitude(a), Magnitude(b));
            if (negative ? product > 1UL << 63 : product > long.MaxValue) Environment.FailFast("arithmetic overflow");
            return negative ? (long)(0 - product) : (long)product;
        }

        private static ulong MultiplyChecked(ulong a, ulong b)
        {
            // (ah*2^32 + al)(bh*2^32 + bl): ah*bh must be 0, and the cross terms fit in 32 bits.
            ulong ah = a >> 32, al = a & 0xFFFFFFFF, bh = b >> 32, bl = b & 0xFFFFFFFF;
            if (ah != 0 && bh != 0) Environment.FailFast("arithmetic overflow");
            ulong cross = ah * bl + al * bh;
            if (cross > 0xFFFFFFFF) Environment.FailFast("arithmetic overflow");
            ulong low = al * bl, high = cross << 32;
            ulong product = low + high;
            if (product < low) Environment.FailFast("arithmetic overflow");
            return product;
        }

        private static ulong Magnitude(long v) => v < 0 ? 0 - (ulong)v : (ulong)v;

        private static ulong DivMod(ulong dividend, ulong divisor, out ulong remainder)
        {
            ulong quotient = 0, rem = 0;
            for (int bit = 63; bit >= 0; bit--)
            {
                rem = (rem << 1) | ((dividend >> bit) & 1);
                if (rem >= divisor) { rem -= divisor; quotient |= 1UL << bit; }
            }
            remainder = rem;
            return quotient;
        }

        private static void ThrowDivideByZero() => Environment.FailFast("division by zero");
    }
}
