namespace SharpMM.Kernel;

/// <summary>
/// Builds the interrupt descriptor table for the 32 CPU exception vectors (the other 224 gates
/// stay not-present) and loads it. Gate layout (16 bytes, interrupt gate: IF cleared on entry):
/// <code>
///   +0  ushort offset 0..15     +2 ushort selector (0x08, the 64-bit code segment)
///   +4  byte   IST index        +5 byte   type/attributes 0x8E: present, DPL 0, interrupt gate
///   +6  ushort offset 16..31    +8 uint   offset 32..63      +12 uint reserved
/// </code>
/// #DF (8) and NMI (2) switch to IST1, a separate 16 KiB stack from the TSS, so that a kernel
/// stack overflow (a #PF that cannot push its frame) still reaches the dispatcher.
/// </summary>
internal static unsafe class Idt
{
    public const int ExceptionVectors = 32;
    private const int GateCount = 256;
    private const ushort KernelCodeSelector = 0x08;
    private const byte InterruptGatePresent = 0x8E;
    private const byte Ist1 = 1;

    /// <summary>Fills the exception gates and executes lidt.</summary>
    public static void Install()
    {
        byte* table = Arch.IdtTable();
        ulong* stubs = Arch.IsrStubTable();
        for (int v = 0; v < ExceptionVectors; v++)
        {
            ulong handler = stubs[v];
            byte* gate = table + v * 16;
            *(ushort*)(gate + 0) = (ushort)handler;
            *(ushort*)(gate + 2) = KernelCodeSelector;
            gate[4] = (v == 8 || v == 2) ? Ist1 : (byte)0;
            gate[5] = InterruptGatePresent;
            *(ushort*)(gate + 6) = (ushort)(handler >> 16);
            *(uint*)(gate + 8) = (uint)(handler >> 32);
            *(uint*)(gate + 12) = 0;
        }
        byte* descriptor = stackalloc byte[10];
        *(ushort*)descriptor = GateCount * 16 - 1;
        *(ulong*)(descriptor + 2) = (ulong)table;
        Arch.Lidt(descriptor);
    }
}
