namespace SharpMM.Diagnostics;

/// <summary>Byte fills and copies that need nothing from the runtime (freestanding-safe).</summary>
public static unsafe class MemoryOps
{
    /// <summary>Zeroes <paramref name="bytes"/> bytes at <paramref name="p"/> (a block clear: what
    /// the compiler makes of it is its memset, vector stores on x86-64).</summary>
    public static void Zero(void* p, ulong bytes)
    {
        byte* b = (byte*)p;
        for (; bytes > int.MaxValue; bytes -= int.MaxValue, b += int.MaxValue) new System.Span<byte>(b, int.MaxValue).Clear();
        new System.Span<byte>(b, (int)bytes).Clear();
    }

    /// <summary>Fills <paramref name="bytes"/> bytes with <paramref name="value"/>, 8 bytes at a time.</summary>
    public static void Fill(void* p, byte value, ulong bytes)
    {
        byte* b = (byte*)p;
        ulong pattern = value * 0x0101010101010101UL;
        while (bytes != 0 && ((ulong)b & 7) != 0) { *b++ = value; bytes--; }
        ulong* q = (ulong*)b;
        for (ulong i = bytes >> 3; i != 0; i--) *q++ = pattern;
        b = (byte*)q;
        for (ulong i = bytes & 7; i != 0; i--) *b++ = value;
    }

    /// <summary>Copies <paramref name="bytes"/> bytes; the ranges must not overlap.</summary>
    public static void Copy(void* dst, void* src, ulong bytes) =>
        System.Buffer.MemoryCopy(src, dst, (long)bytes, (long)bytes);
}
