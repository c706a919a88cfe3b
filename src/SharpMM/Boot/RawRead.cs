namespace SharpMM.Boot;

/// <summary>Little-endian reads at any alignment: firmware structures are packed.</summary>
internal static unsafe class RawRead
{
    internal static uint U32(byte* p) => (uint)p[0] | (uint)p[1] << 8 | (uint)p[2] << 16 | (uint)p[3] << 24;

    internal static ulong U64(byte* p) => U32(p) | (ulong)U32(p + 4) << 32;
}
