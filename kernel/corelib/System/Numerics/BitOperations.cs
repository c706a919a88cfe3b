namespace System.Numerics
{
    /// <summary>
    /// Bit tricks in portable code (no POPCNT/LZCNT/TZCNT: the kernel targets the x86-64 baseline,
    /// which QEMU's default CPU model is). Edge cases as in the BCL: TrailingZeroCount(0) and
    /// LeadingZeroCount(0) return the bit width, Log2(0) returns 0, IsPow2(0) is false.
    /// </summary>
    public static class BitOperations
    {
        public static bool IsPow2(int value) => (value & (value - 1)) == 0 && value > 0;
        public static bool IsPow2(uint value) => (value & (value - 1)) == 0 && value != 0;
        public static bool IsPow2(long value) => (value & (value - 1)) == 0 && value > 0;
        public static bool IsPow2(ulong value) => (value & (value - 1)) == 0 && value != 0;
        public static bool IsPow2(nint value) => (value & (value - 1)) == 0 && value > 0;
        public static bool IsPow2(nuint value) => (value & (value - 1)) == 0 && value != 0;

        /// <summary>Number of set bits (SWAR: 2-bit, 4-bit, then byte sums gathered by a multiply).</summary>
        public static int PopCount(uint value)
        {
            value -= (value >> 1) & 0x55555555u;
            value = (value & 0x33333333u) + ((value >> 2) & 0x33333333u);
            value = (value + (value >> 4)) & 0x0F0F0F0Fu;
            return (int)((value * 0x01010101u) >> 24);
        }

        /// <summary>Number of set bits.</summary>
        public static int PopCount(ulong value)
        {
            value -= (value >> 1) & 0x5555555555555555ul;
            value = (value & 0x3333333333333333ul) + ((value >> 2) & 0x3333333333333333ul);
            value = (value + (value >> 4)) & 0x0F0F0F0F0F0F0F0Ful;
            return (int)((value * 0x0101010101010101ul) >> 56);
        }

        public static int PopCount(nuint value) => PopCount((ulong)value);

        /// <summary>Index of the lowest set bit; 32 for 0.</summary>
        public static int TrailingZeroCount(uint value)
        {
            if (value == 0) return 32;
            return PopCount((value & (0u - value)) - 1);
        }

        public static int TrailingZeroCount(int value) => TrailingZeroCount((uint)value);

        /// <summary>Index of the lowest set bit; 64 for 0.</summary>
        public static int TrailingZeroCount(ulong value)
        {
            if (value == 0) return 64;
            return PopCount((value & (0ul - value)) - 1);
        }

        public static int TrailingZeroCount(long value) => TrailingZeroCount((ulong)value);
        public static int TrailingZeroCount(nuint value) => TrailingZeroCount((ulong)value);
        public static int TrailingZeroCount(nint value) => TrailingZeroCount((ulong)value);

        /// <summary>Number of zero bits above the highest set bit; 32 for 0.</summary>
        public static int LeadingZeroCount(uint value)
        {
            if (value == 0) return 32;
            return 31 - Log2(value);
        }

        /// <summary>Number of zero bits above the highest set bit; 64 for 0.</summary>
        public static int LeadingZeroCount(ulong value)
        {
            if (value == 0) return 64;
            return 63 - Log2(value);
        }

        public static int LeadingZeroCount(nuint value) => LeadingZeroCount((ulong)value);

        /// <summary>floor(log2(value)); 0 for 0 (binary search over halves).</summary>
        public static int Log2(uint value)
        {
            int n = 0;
            if (value >= 1u << 16) { value >>= 16; n += 16; }
            if (value >= 1u << 8) { value >>= 8; n += 8; }
            if (value >= 1u << 4) { value >>= 4; n += 4; }
            if (value >= 1u << 2) { value >>= 2; n += 2; }
            if (value >= 1u << 1) { n += 1; }
            return n;
        }

        /// <summary>floor(log2(value)); 0 for 0.</summary>
        public static int Log2(ulong value)
        {
            uint hi = (uint)(value >> 32);
            return hi != 0 ? 32 + Log2(hi) : Log2((uint)value);
        }

        public static int Log2(int value) => Log2((uint)value);
        public static int Log2(long value) => Log2((ulong)value);
        public static int Log2(nuint value) => Log2((ulong)value);

        /// <summary>The smallest power of two &gt;= value; 0 when it does not fit (and for 0).</summary>
        public static uint RoundUpToPowerOf2(uint value)
        {
            --value;
            value |= value >> 1; value |= value >> 2; value |= value >> 4; value |= value >> 8; value |= value >> 16;
            return value + 1;
        }

        /// <summary>The smallest power of two &gt;= value; 0 when it does not fit (and for 0).</summary>
        public static ulong RoundUpToPowerOf2(ulong value)
        {
            --value;
            value |= value >> 1; value |= value >> 2; value |= value >> 4; value |= value >> 8; value |= value >> 16; value |= value >> 32;
            return value + 1;
        }

        public static uint RotateLeft(uint value, int offset) => (value << offset) | (value >> (32 - offset));
        public static ulong RotateLeft(ulong value, int offset) => (value << offset) | (value >> (64 - offset));
        public static uint RotateRight(uint value, int offset) => (value >> offset) | (value << (32 - offset));
        public static ulong RotateRight(ulong value, int offset) => (value >> offset) | (value << (64 - offset));
    }
}
