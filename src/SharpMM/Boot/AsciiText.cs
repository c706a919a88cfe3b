namespace SharpMM.Boot;

/// <summary>Allocation-free scanning of ASCII text held as bytes: literal comparison and
/// hex/decimal numbers with overflow detection.</summary>
internal static unsafe class AsciiText
{
    internal static bool IsSpace(byte c) => c == (byte)' ' || c == (byte)'\t';

    internal static bool IsDigit(byte c) => c >= (byte)'0' && c <= (byte)'9';

    internal static bool IsAlphaNumeric(byte c) => IsDigit(c) || (uint)((c | 0x20) - 'a') <= 'z' - 'a';

    /// <summary>Value of a hex digit, or -1.</summary>
    internal static int HexValue(byte c)
    {
        if (IsDigit(c)) return c - '0';
        uint lower = (uint)(c | 0x20) - 'a';
        return lower < 6 ? (int)lower + 10 : -1;
    }

    private static byte Lower(byte c) => (uint)(c - 'A') <= 'Z' - 'A' ? (byte)(c | 0x20) : c;

    /// <summary>True when p[0..s.Length) equals <paramref name="s"/>, ASCII case ignored.</summary>
    internal static bool StartsWith(byte* p, int available, string s)
    {
        if (available < s.Length) return false;
        for (int i = 0; i < s.Length; i++)
            if (Lower(p[i]) != Lower((byte)s[i])) return false;
        return true;
    }

    /// <summary>True when p[0..length) is exactly <paramref name="s"/>, ASCII case ignored.</summary>
    internal static bool EqualsIgnoreCase(byte* p, int length, string s) => length == s.Length && StartsWith(p, length, s);

    internal static void SkipSpaces(byte* p, int length, ref int i)
    {
        while (i < length && IsSpace(p[i])) i++;
    }

    /// <summary>
    /// Reads a hex number at p[i..], with or without a 0x prefix, leading zeros allowed. False when
    /// there is no digit, the value passes 2^64, or a letter or digit follows the number
    /// ("0x12zz"). On success i is past the number.
    /// </summary>
    internal static bool TryHex(byte* p, int length, ref int i, out ulong value)
    {
        value = 0;
        int k = i;
        if (k + 1 < length && p[k] == (byte)'0' && (p[k + 1] | 0x20) == 'x') k += 2;
        int first = k;
        while (k < length)
        {
            int d = HexValue(p[k]);
            if (d < 0) break;
            if (value > ulong.MaxValue >> 4) return false;
            value = value << 4 | (uint)d;
            k++;
        }
        if (k == first || (k < length && IsAlphaNumeric(p[k]))) return false;
        i = k;
        return true;
    }

    /// <summary>Reads an unsigned decimal number at p[i..] not above <paramref name="max"/>; the same
    /// rules as <see cref="TryHex"/> otherwise.</summary>
    internal static bool TryDecimal(byte* p, int length, ref int i, ulong max, out ulong value)
    {
        value = 0;
        int k = i;
        while (k < length && IsDigit(p[k]))
        {
            ulong d = (ulong)(p[k] - '0');
            if (value > (max - d) / 10) return false;
            value = value * 10 + d;
            k++;
        }
        if (k == i || (k < length && IsAlphaNumeric(p[k]))) return false;
        i = k;
        return true;
    }
}
