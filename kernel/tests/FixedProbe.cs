using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>Corelib test probe: a fixed buffer in an explicit-layout struct.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct FixedProbe
{
    [FieldOffset(0)] public fixed byte Bytes[16];
    [FieldOffset(0)] public ulong Low;
    [FieldOffset(8)] public ulong High;
}
