using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>One entry of the Multiboot 1 module list: [Start, End) physical, and a C-string name.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MultibootModule
{
    public uint Start;
    public uint End;
    public uint Name;
    public uint Reserved;
}
