namespace SharpMM.Diagnostics;

/// <summary>
/// A tiny allocation-free formatter over an <see cref="ITextSink"/>: strings, decimal, hex,
/// byte sizes, padding. It is what both the hosted CLI and the kernel use to print the same
/// reports, so their output is byte-for-byte comparable.
/// </summary>
public struct TextWriter<TSink> where TSink : struct, ITextSink
{
    /// <summary>The sink; public so callers can reach the buffer behind it.</summary>
    public TSink Sink;

    /// <summary>Wraps a sink.</summary>
    public TextWriter(TSink sink) { Sink = sink; }

    /// <summary>Writes one character.</summary>
    public void Char(char c) => Sink.Put((byte)c);

    /// <summary>Writes a string (ASCII).</summary>
    public void Str(string s)
    {
        for (int i = 0; i < s.Length; i++) Sink.Put((byte)s[i]);
    }

    /// <summary>Writes a NUL-free ASCII byte run.</summary>
    public unsafe void Bytes(byte* p, int count)
    {
        for (int i = 0; i < count; i++) Sink.Put(p[i]);
    }

    /// <summary>Writes a line break.</summary>
    public void Line() => Sink.Put((byte)'\n');

    /// <summary>Writes a string and a line break.</summary>
    public void Line(string s) { Str(s); Line(); }

    /// <summary>Writes <paramref name="count"/> spaces.</summary>
    public void Spaces(int count)
    {
        for (int i = 0; i < count; i++) Sink.Put((byte)' ');
    }

    /// <summary>Number of decimal digits of <paramref name="v"/>.</summary>
    public static int DecimalWidth(ulong v)
    {
        int n = 1;
        while (v >= 10) { v /= 10; n++; }
        return n;
    }

    /// <summary>Writes an unsigned decimal number.</summary>
    public unsafe void Dec(ulong v)
    {
        byte* buf = stackalloc byte[20];
        int n = 0;
        do { buf[n++] = (byte)('0' + (int)(v % 10)); v /= 10; } while (v != 0);
        while (n > 0) Sink.Put(buf[--n]);
    }

    /// <summary>Writes a signed decimal number.</summary>
    public void Dec(long v)
    {
        if (v < 0) { Sink.Put((byte)'-'); Dec((ulong)(-(v + 1)) + 1); }
        else Dec((ulong)v);
    }

    /// <summary>Writes a decimal number right-aligned in <paramref name="width"/> columns.</summary>
    public void DecPad(ulong v, int width)
    {
        Spaces(width - DecimalWidth(v));
        Dec(v);
    }

    /// <summary>Writes a decimal number left-aligned in <paramref name="width"/> columns.</summary>
    public void DecLeft(ulong v, int width)
    {
        Dec(v);
        Spaces(width - DecimalWidth(v));
    }

    /// <summary>Writes a string left-aligned in <paramref name="width"/> columns.</summary>
    public void StrPad(string s, int width)
    {
        Str(s);
        Spaces(width - s.Length);
    }

    /// <summary>Writes "0x" and exactly <paramref name="digits"/> lowercase hex digits.</summary>
    public void Hex(ulong v, int digits)
    {
        Sink.Put((byte)'0'); Sink.Put((byte)'x');
        HexDigits(v, digits);
    }

    /// <summary>Writes "0x" and the shortest lowercase hex form.</summary>
    public void Hex(ulong v)
    {
        int digits = 1;
        while (digits < 16 && (v >> (digits * 4)) != 0) digits++;
        Hex(v, digits);
    }

    /// <summary>Writes exactly <paramref name="digits"/> lowercase hex digits, no prefix.</summary>
    public void HexDigits(ulong v, int digits)
    {
        for (int i = digits - 1; i >= 0; i--)
        {
            int d = (int)((v >> (i * 4)) & 0xF);
            Sink.Put((byte)(d < 10 ? '0' + d : 'a' + d - 10));
        }
    }

    /// <summary>Writes a byte count in the largest binary unit that divides it to one decimal
    /// place, e.g. "128 MiB", "639 KiB", "1.5 GiB", "4096 B".</summary>
    public void Size(ulong bytes)
    {
        string unit = "B";
        ulong div = 1;
        if (bytes >= 1UL << 40) { unit = "TiB"; div = 1UL << 40; }
        else if (bytes >= 1UL << 30) { unit = "GiB"; div = 1UL << 30; }
        else if (bytes >= 1UL << 20) { unit = "MiB"; div = 1UL << 20; }
        else if (bytes >= 1UL << 10) { unit = "KiB"; div = 1UL << 10; }
        ulong whole = bytes / div;
        ulong tenth = (bytes % div) * 10 / div;
        Dec(whole);
        if (tenth != 0) { Sink.Put((byte)'.'); Dec(tenth); }
        Sink.Put((byte)' ');
        Str(unit);
    }
}
