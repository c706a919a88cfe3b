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
/// Three interrupt gates serve the local APIC (<see cref="Interrupts"/>): the timer (239), the
/// cross-CPU request IPI (240) and the spurious vector (255). Every CPU loads the same table.
/// </summary>
internal static unsafe class Idt
{
    public const int ExceptionVectors = 32;
    private const int GateCount = 256;
    private const ushort KernelCodeSelector = 0x08;
    private const byte InterruptGatePresent = 0x8E;
    private const byte Ist1 = 1;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.InternalCall), System.Runtime.RuntimeImport("*", "arch_irq_stub_table")]
    private static extern ulong* IrqStubTable();

    /// <summary>IDTR's limit (every CPU loads the same table, <see cref="Arch.IdtTable"/>).</summary>
    public const ushort Limit = GateCount * 16 - 1;

    private static void SetGate(byte* table, int vector, ulong handler, byte ist)
    {
        byte* gate = table + vector * 16;
        *(ushort*)(gate + 0) = (ushort)handler;
        *(ushort*)(gate + 2) = KernelCodeSelector;
        gate[4] = ist;
        gate[5] = InterruptGatePresent;
        *(ushort*)(gate + 6) = (ushort)(handler >> 16);
        *(uint*)(gate + 8) = (uint)(handler >> 32);
        *(uint*)(gate + 12) = 0;
    }

    /// <summary>Fills the exception and interrupt gates and executes lidt.</summary>
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
        ulong* irqStubs = IrqStubTable();
        for (int i = 0; i < Interrupts.Vectors.Length; i++) SetGate(table, Interrupts.Vectors[i], irqStubs[i], 0);
        byte* descriptor = stackalloc byte[10];
        *(ushort*)descriptor = Limit;
        *(ulong*)(descriptor + 2) = (ulong)table;
        Arch.Lidt(descriptor);
    }
}
