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

    /// <summary>Returned by the searches when nothing is found.</summary>
    public const ulong NotFound = ulong.MaxValue;

    /// <summary>Words of a summary level over <paramref name="words"/> words (one bit each).</summary>
    public static ulong SummaryWords(ulong words) => (words + 63) >> 6;

    /// <summary>
    /// Records whether word <paramref name="word"/> of <paramref name="bits"/> is full (every bit
    /// set) in the two summary levels: bit w of <paramref name="full1"/> is set while word w is
    /// full, bit i of <paramref name="full2"/> while word i of <paramref name="full1"/> is. A
    /// search then steps over 4096 full words with one test, and over 262,144 with one word of
    /// <paramref name="full2"/>. Call after every change to the word.
    /// </summary>
    public static void Summarize(ulong* bits, ulong* full1, ulong* full2, ulong word)
    {
        ulong bit1 = 1UL << (int)(word & 63);
        ulong* w1 = full1 + (word >> 6);
        ulong before = *w1;
        ulong after = bits[word] == ~0UL ? before | bit1 : before & ~bit1;
        if (after == before) return;
        *w1 = after;
        ulong i1 = word >> 6;
        if (after == ~0UL) Set(full2, i1);
        else if (before == ~0UL) Clear(full2, i1);
    }

    /// <summary>
    /// Index of the first clear bit at or after <paramref name="from"/> among the
    /// <paramref name="words"/> words of <paramref name="bits"/>, or <see cref="NotFound"/>;
    /// full words are stepped over through the summary levels (see <see cref="Summarize"/>),
    /// whose bits past the last word must be set.
    /// </summary>
    public static ulong NextClear(ulong* bits, ulong* full1, ulong* full2, ulong words, ulong from)
    {
        ulong wi = from >> 6;
        if (wi >= words) return NotFound;
        ulong free = ~bits[wi] & (~0UL << (int)(from & 63));
        if (free != 0) return (wi << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(free);
        wi = NextNotFull(full1, full2, words, wi + 1);
        return wi == NotFound ? NotFound : (wi << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(~bits[wi]);
    }

    // The first word at or after `word` whose bit in full1 is clear, or NotFound.
    private static ulong NextNotFull(ulong* full1, ulong* full2, ulong words, ulong word)
    {
        ulong words1 = SummaryWords(words), words2 = SummaryWords(words1);
        ulong i1 = word >> 6;
        if (i1 >= words1) return NotFound;
        ulong m1 = ~full1[i1] & (~0UL << (int)(word & 63));
        if (m1 == 0)
        {
            ulong next1 = i1 + 1, i2 = next1 >> 6;
            if (i2 >= words2) return NotFound;
            ulong m2 = ~full2[i2] & (~0UL << (int)(next1 & 63));
            while (m2 == 0)
            {
                if (++i2 >= words2) return NotFound;
                m2 = ~full2[i2];
            }
            i1 = (i2 << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(m2);
            m1 = ~full1[i1];
        }
        ulong wi = (i1 << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(m1);
        return wi < words ? wi : NotFound;
    }

    /// <summary>
    /// The bits b of word <paramref name="x"/> from which <paramref name="count"/> (1..64) bits of
    /// <paramref name="x"/> followed by <paramref name="y"/> (the next word) are all set: each
    /// step doubles the length covered, so a length of n costs about log2(n) shifts.
    /// </summary>
    public static ulong RunStarts(ulong x, ulong y, ulong count)
    {
        // Only the low bits of ry are ever shifted into rx, and those stay exact: what a run
        // from them would need beyond y is never asked for (count <= 64).
        ulong rx = x, ry = y;
        int len = 1;
        while ((ulong)(len * 2) <= count)
        {
            rx &= (rx >> len) | (ry << (64 - len));
            ry &= ry >> len;
            len *= 2;
        }
        int rest = (int)count - len;
        if (rest > 0) rx &= (rx >> rest) | (ry << (64 - rest));
        return rx;
    }

    /// <summary>
    /// First-fit search for <paramref name="count"/> clear bits among <paramref name="nbits"/>,
    /// starting at an index of the form phase + k * <paramref name="align"/> (align a power of
    /// two, phase below it), scanning from <paramref name="hint"/> (relative to phase) to the end
    /// and then from the start: the first candidate in that order, the same one a bit-by-bit
    /// scan finds. Full words are stepped over through the summary levels (see
    /// <see cref="Summarize"/>); a run of up to 64 bits with an alignment up to 64 is found
    /// with a few operations per word, a longer one by jumping past the last set bit of each
    /// blocked candidate. The bits of the last word past <paramref name="nbits"/> must be set.
    /// </summary>
    public static bool FindClearRun(ulong* bits, ulong* full1, ulong* full2, ulong nbits, ulong count, ulong align, ulong phase, ulong hint, out ulong index)
    {
        index = 0;
        if (count == 0 || count > nbits) return false;
        ulong first = phase + ((hint + align - 1) & ~(align - 1));
        if (first >= phase && FindFrom(bits, full1, full2, nbits, count, align, phase, first, nbits, out index)) return true;
        ulong limit = phase + hint + count < nbits ? phase + hint + count : nbits;
        return FindFrom(bits, full1, full2, nbits, count, align, phase, phase, limit, out index);
    }

    // The first candidate c >= from (c = phase + k * align) with [c, c + count) clear and
    // c + count <= limit.
    private static bool FindFrom(ulong* bits, ulong* full1, ulong* full2, ulong nbits, ulong count, ulong align, ulong phase, ulong from, ulong limit, out ulong index)
    {
        index = 0;
        ulong words = (nbits + 63) >> 6;
        bool inWord = count <= 64 && align <= 64;
        // Candidate positions within any word (word starts are multiples of align <= 64).
        ulong candidates = inWord ? (align == 64 ? 1UL : ulong.MaxValue / ((1UL << (int)align) - 1)) << (int)(phase & (align - 1)) : 0;
        ulong x = from;
        while (true)
        {
            ulong f = NextClear(bits, full1, full2, words, x);
            if (f == NotFound) return false;
            ulong c = f <= phase ? phase : phase + ((f - phase + align - 1) & ~(align - 1));
            if (c < f || c + count > limit) return false;
            if (inWord)
            {
                ulong wi = c >> 6;
                ulong next = wi + 1 < words ? ~bits[wi + 1] : 0;
                ulong starts = RunStarts(~bits[wi], next, count) & candidates & (~0UL << (int)(c & 63));
                if (starts != 0)
                {
                    ulong at = (wi << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(starts);
                    if (at + count > limit) return false;
                    index = at;
                    return true;
                }
                x = (wi + 1) << 6;
            }
            else
            {
                long last = LastSet(bits, c, count);
                if (last < 0) { index = c; return true; }
                x = (ulong)last + 1;
            }
        }
    }
}
