using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The per-CPU areas (<see cref="PerCpu"/>, smp.S's percpu_areas) and what each CPU owns: the
/// boot CPU keeps boot.S's GDT, TSS and IST stack and the kernel stack KernelStack maps; every
/// other CPU gets, before it is started (<see cref="Prepare"/>):
/// <code>
///   kernel stack   KernelStack.Size in the kernel-stack region below the boot CPU's, one
///                  unmapped guard page under each:
///                    top(i) = KernelRegions.StackTop - i * (KernelStack.Size + 4 KiB)
///   IST1 stack     16 KiB of buddy frames through the direct map (#DF, NMI)
///   GDT            a copy of the boot CPU's (same selectors) whose TSS descriptor points at
///   TSS            its own: IST1, RSP0 = the kernel stack top
/// </code>
/// GS holds the area's address in ring 0 on every CPU (the boot CPU from <see cref="InitBoot"/>,
/// the others from ap_entry64), so <see cref="Current"/> and <see cref="CurrentIndex"/> are one
/// GS-relative load. FS is left to user programs (arch_prctl).
/// </summary>
internal static unsafe class PerCpus
{
    /// <summary>CPUs the kernel runs at most: the library's (smp.S MAX_CPUS must match).</summary>
    public const int MaxCpus = SharpMM.Concurrency.Cpu.MaxCpus;
    /// <summary>The segment register behind which each CPU finds its area (the AP's "online" line).</summary>
    public const string Register = "GS";
    /// <summary>Hex digits of a kernel address in log lines.</summary>
    public const int AddressDigits = 16;
    /// <summary>GDT entries: null, kernel code/data, user data/code, TSS (two entries).</summary>
    public const int GdtEntries = 7;
    private const int TssDescriptor = 5;
    private const ulong IstBytes = 16UL << 10;
    private const uint MsrGsBase = 0xC0000101;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_percpu_areas")] private static extern PerCpu* Areas();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_percpu")] private static extern PerCpu* CurrentArea();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cpu_index")] private static extern int CurrentIndexFromGs();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gdt64")] private static extern ulong* BootGdt();

    /// <summary>The area of CPU <paramref name="index"/> (0 &lt;= index &lt; <see cref="MaxCpus"/>).</summary>
    public static PerCpu* Area(int index)
    {
        if ((uint)index >= MaxCpus) KernelPanic.Fail("per-cpu: index out of range", (ulong)index);
        return Areas() + index;
    }

    /// <summary>The running CPU's area (GS).</summary>
    public static PerCpu* Current => CurrentArea();

    /// <summary>The running CPU's index (GS): the hook the library's Cpu.Current calls.</summary>
    public static int CurrentIndex => CurrentIndexFromGs();

    /// <summary>The boot CPU: area 0 behind GS (before anything reads GS).</summary>
    public static void InitBoot()
    {
        PerCpu* cpu = Areas();
        cpu->Self = (ulong)cpu;
        cpu->Index = 0;
        cpu->StackTop = 0;
        Arch.WriteMsr(MsrGsBase, (ulong)cpu);
    }

    /// <summary>The top of CPU <paramref name="index"/>'s kernel stack (index 0: KernelStack.Top).</summary>
    public static ulong StackTopOf(int index) => KernelRegions.StackTop - (ulong)index * (KernelStack.Size + PageSize.Bytes);

    /// <summary>
    /// Gives CPU <paramref name="index"/> (1 or more) its stacks, GDT and TSS and records its APIC
    /// ID. A second call for the same index (after a CPU that did not start) keeps the stacks.
    /// Return: Ok; OutOfMemory (nothing of this call left allocated).
    /// </summary>
    public static Status Prepare(int index, uint apicId)
    {
        PerCpu* cpu = Area(index);
        cpu->Self = (ulong)cpu;
        cpu->Index = index;
        cpu->ApicId = apicId;
        cpu->Online = 0;
        if (cpu->StackTop == 0)
        {
            ulong top = StackTopOf(index);
            ulong bottom = top - KernelStack.Size;
            if (bottom - PageSize.Bytes < KernelRegions.StackRegionStart) KernelPanic.Fail("per-cpu: the kernel-stack region has no room for cpu", (ulong)index);
            KernelFrames frames = default;
            if (frames.Allocate(2, out Pfn ist) != Status.Ok) return Status.OutOfMemory;
            FlushBatch batch = default;
            Status s = KernelStack.MapPages(ref KernelAddressSpace.Mapper, bottom, top, KernelAddressSpace.NoExecute, ref batch);
            batch.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            if (s != Status.Ok)
            {
                frames.Free(ist, 2);
                return s;
            }
            cpu->StackTop = top;
            Cpu.MapStack(index, bottom, top);
            cpu->StackGuard = bottom - PageSize.Bytes;
            cpu->IstTop = (ulong)Platform.DirectMap.ToVirt(ist.ToAddr().Value) + IstBytes;
        }

        ulong* gdt = BootGdt();
        for (int i = 0; i < GdtEntries; i++) cpu->Gdt[i] = gdt[i];
        byte* tss = cpu->Tss;
        for (int i = 0; i < 104; i++) tss[i] = 0;
        *(ulong*)(tss + 4) = cpu->StackTop;    // RSP0
        *(ulong*)(tss + 36) = cpu->IstTop;     // IST1
        *(ushort*)(tss + 102) = 104;           // no I/O bitmap
        ulong b = (ulong)tss;
        // Available 64-bit TSS, present, limit 103; base split over both entries.
        cpu->Gdt[TssDescriptor] = 103UL | (b & 0xFFFFFF) << 16 | 0x89UL << 40 | ((b >> 24) & 0xFF) << 56;
        cpu->Gdt[TssDescriptor + 1] = b >> 32;
        cpu->GdtLimit = GdtEntries * 8 - 1;
        cpu->GdtBase = (ulong)cpu->Gdt;
        cpu->IdtLimit = Idt.Limit;
        cpu->IdtBase = (ulong)Arch.IdtTable();
        cpu->KernelStackTop = cpu->StackTop;
        return Status.Ok;
    }

    /// <summary>Page tables (4 KiB-page level) under the kernel stacks of CPUs 0..<paramref name="cpus"/>-1:
    /// one per 2 MiB the stacks span.</summary>
    public static ulong StackPageTables(int cpus)
    {
        ulong lowest = StackTopOf(cpus - 1) - KernelStack.Size;
        const ulong Span = 2UL << 20;
        return (KernelRegions.StackTop - 1) / Span - lowest / Span + 1;
    }

    /// <summary>True when <paramref name="va"/> lies in the guard page of another CPU's kernel stack.</summary>
    public static bool StackGuardOwner(ulong va, out int index)
    {
        for (int i = 1; i < MaxCpus; i++)
        {
            PerCpu* cpu = Areas() + i;
            if (cpu->StackGuard != 0 && va >= cpu->StackGuard && va < cpu->StackGuard + PageSize.Bytes)
            {
                index = i;
                return true;
            }
        }
        index = 0;
        return false;
    }
}
