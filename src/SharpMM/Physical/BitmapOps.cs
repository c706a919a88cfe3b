namespace SharpMM.Physical;

/// <summary>Bit-range operations over an array of 64-bit words (bit i = word i/64, bit i%64).</summary>
public static unsafe class BitmapOps
{
    /// <summary>Reads bit <paramref name="i"/>.</summary>
    public static bool Test(ulong* bits, ulong i) => (bits[i >> 6] & (1UL << (int)(i & 63))) != 0;

    /// <summary>Sets bit <paramref name="i"/>.</summary>
    public static void Set(ulong* bits, ulong i) => bits[i >> 6] |= 1UL << (int)(i & 63);

    /// <summary>Clears bit <paramref name="i"/>.</summary>
    public static void Clear(ulong* bits, ulong i) => bits[i >> 6] &= ~(1UL << (int)(i & 63));

    // Mask of bits [lo, hi) inside one word, 0 <= lo < hi <= 64.
    private static ulong Mask(int lo, int hi) => (hi == 64 ? ~0UL : (1UL << hi) - 1) & ~((1UL << lo) - 1);

    /// <summary>Sets (<paramref name="value"/> true) or clears bits [start, start + count).</summary>
    public static void Assign(ulong* bits, ulong start, ulong count, bool value)
    {
        ulong end = start + count;
        while (start < end)
        {
            int lo = (int)(start & 63);
            ulong wordEnd = (start | 63) + 1;
            int hi = end < wordEnd ? (int)(end & 63) : 64;
            if (hi == 0) hi = 64;
            ulong m = Mask(lo, hi);
            if (value) bits[start >> 6] |= m; else bits[start >> 6] &= ~m;
            start = end < wordEnd ? end : wordEnd;
        }
    }

    /// <summary>Index of the last set bit in [start, start + count), or -1 when all are clear.</summary>
    public static long LastSet(ulong* bits, ulong start, ulong count)
    {
        ulong end = start + count;
        while (end > start)
        {
            ulong wordStart = (end - 1) & ~63UL;
            ulong lo = start > wordStart ? start : wordStart;
            ulong m = Mask((int)(lo & 63), (int)(end - wordStart)) & bits[wordStart >> 6];
            if (m != 0) return (long)(wordStart + 63 - (ulong)System.Numerics.BitOperations.LeadingZeroCount(m));
            end = wordStart;
        }
        return -1;
    }

    /// <summary>True when every bit in [start, start + count) is set.</summary>
    public static bool AllSet(ulong* bits, ulong start, ulong count)
    {
        ulong end = start + count;
        while (start < end)
        {
            int lo = (int)(start & 63);
            ulong wordEnd = (start | 63) + 1;
            int hi = end < wordEnd ? (int)(end & 63) : 64;
            if (hi == 0) hi = 64;
            ulong m = Mask(lo, hi);
            if ((bits[start >> 6] & m) != m) return false;
            start = end < wordEnd ? end : wordEnd;
        }
        return true;
    }

    /// <summary>
    /// First-fit search for <paramref name="count"/> clear bits starting at an index of the form
    /// phase + k * <paramref name="align"/> (align a power of two), scanning from
    /// <paramref name="hint"/> to the end and then from the start. A blocked candidate jumps
    /// past the last set bit of its window, so the scan costs about one word test per 64 bits.
    /// </summary>
    public static bool FindClearRun(ulong* bits, ulong nbits, ulong count, ulong align, ulong phase, ulong hint, out ulong index)
    {
        index = 0;
        if (count == 0 || count > nbits) return false;
        for (int pass = 0; pass < 2; pass++)
        {
            ulong c = pass == 0 ? phase + ((hint + align - 1) & ~(align - 1)) : phase;
            ulong limit = pass == 0 ? nbits : (phase + hint + count < nbits ? phase + hint + count : nbits);
            while (c + count <= limit && c + count > c)
            {
                long last = LastSet(bits, c, count);
                if (last < 0) { index = c; return true; }
                ulong next = (ulong)last + 1;
                c = phase + ((next - phase + align - 1) & ~(align - 1));
            }
        }
        return false;
    }
}
