using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The per-CPU areas on i386 (<see cref="PerCpu"/>, smp.S's percpu_areas) and what each CPU
/// owns. The boot CPU keeps boot.S's GDT, isr.S's TSS and double-fault task and the kernel stack
/// KernelStack maps; every other CPU gets, before it is started (<see cref="Prepare"/>):
/// <code>
///   kernel stack   KernelStack.Size below the boot CPU's in the kernel-stack region, one
///                  unmapped guard page under each:
///                    top(i) = KernelStack.Top - i * (KernelStack.Size + 4 KiB)
///                  within the boot stack's 4 MiB span (0xFF800000-0xFFBFFFFF, one page
///                  table), hence 15 CPUs at most
///   #DF stack      16 KiB of buddy frames through the direct map (its double-fault task's)
///   GDT            a copy of the boot CPU's (same selectors) with its own TSS, double-fault
///                  TSS, TLS entry and per-CPU segment
///   TSS            its own: ESP0 = the kernel stack top, SS0 = 0x10
///   #DF TSS        its own task: df_entry on the #DF stack, the kernel's CR3, FS = 0x40
/// </code>
/// FS holds selector 0x40 in ring 0 on every CPU, a data segment whose base is the CPU's area
/// (GDT entry 8 of the CPU's own GDT): <see cref="Current"/> and <see cref="CurrentIndex"/> are
/// one FS-relative load. GS is the user program's (its TLS, set_thread_area).
/// </summary>
internal static unsafe class PerCpus
{
    /// <summary>CPUs the kernel runs at most: as many kernel stacks as fit below the boot CPU's
    /// in its 4 MiB span (smp.S MAX_CPUS must match; Kmap gives each its slots); the library's
    /// Cpu.MaxCpus is 16.</summary>
    public const int MaxCpus = 15;
    /// <summary>The segment register behind which each CPU finds its area (the AP's "online" line).</summary>
    public const string Register = "FS";
    /// <summary>Hex digits of a kernel address in log lines.</summary>
    public const int AddressDigits = 8;
    /// <summary>GDT entries: null, kernel code/data, TSS, #DF TSS, user code/data, TLS, per-CPU.</summary>
    public const int GdtEntries = 9;
    private const int MainTssEntry = 3, DoubleFaultTssEntry = 4, TlsEntry = 7, PerCpuEntry = 8;
    private const uint KernelCode = 0x08, KernelData = 0x10, PerCpuSelector = 0x40;
    private const int DoubleFaultStackOrder = 2;
    private const int TssBytes = 104;

    /// <summary>Where the AP stacks must end: in the boot stack's 4 MiB span, whose page table
    /// every layout has from boot on (0xFF400000-0xFF7FFFFF below it is the shootdown test's,
    /// KernelAddressSpace.SmpTestPage).</summary>
    private const ulong StackRegionStart = 0xFF800000;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_percpu_areas")] private static extern PerCpu* Areas();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_percpu")] private static extern PerCpu* CurrentArea();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cpu_index")] private static extern int CurrentIndexFromFs();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gdt")] private static extern ulong* BootGdt();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_tss")] private static extern byte* BootTss();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_df_entry")] private static extern uint DoubleFaultEntry();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_load_percpu_segment")] private static extern void LoadPerCpuSegment();

    /// <summary>The area of CPU <paramref name="index"/> (0 &lt;= index &lt; <see cref="MaxCpus"/>).</summary>
    public static PerCpu* Area(int index)
    {
        if ((uint)index >= MaxCpus) KernelPanic.Fail("per-cpu: index out of range", (ulong)index);
        return Areas() + index;
    }

    /// <summary>The running CPU's area (FS).</summary>
    public static PerCpu* Current => CurrentArea();

    /// <summary>The running CPU's index (FS): the hook the library's Cpu.Current calls.</summary>
    public static int CurrentIndex => CurrentIndexFromFs();

    /// <summary>The boot CPU: area 0 behind FS (Platform.EarlyInit, before the double-fault task
    /// is installed: df_entry finds the TSS through FS).</summary>
    public static void InitBoot()
    {
        PerCpu* cpu = Areas();
        cpu->Self = (uint)cpu;
        cpu->Index = 0;
        cpu->StackTop = 0;
        cpu->TssAddress = (uint)BootTss();
        cpu->GdtAddress = (uint)BootGdt();
        BootGdt()[PerCpuEntry] = DataSegment((uint)cpu);
        LoadPerCpuSegment();
    }

    /// <summary>A flat 4 GiB ring-0 data segment based at <paramref name="b"/>.</summary>
    private static ulong DataSegment(uint b) => 0x00CF92000000FFFFUL | ((ulong)b & 0xFFFFFF) << 16 | ((ulong)b >> 24) << 56;

    /// <summary>An available 32-bit TSS of 104 bytes at <paramref name="b"/>.</summary>
    private static ulong TssSegment(uint b) => 0x0000890000000067UL | ((ulong)b & 0xFFFFFF) << 16 | ((ulong)b >> 24) << 56;

    /// <summary>The top of CPU <paramref name="index"/>'s kernel stack (index 0: KernelStack.Top).</summary>
    public static ulong StackTopOf(int index) => KernelStack.Top - (ulong)index * (KernelStack.Size + PageSize.Bytes);

    /// <summary>
    /// Gives CPU <paramref name="index"/> (1 or more) its stacks, GDT, TSS and double-fault task
    /// and records its APIC ID. A second call for the same index (after a CPU that did not
    /// start) keeps the stacks. Return: Ok; OutOfMemory (nothing of this call left allocated).
    /// </summary>
    public static Status Prepare(int index, uint apicId)
    {
        PerCpu* cpu = Area(index);
        cpu->Self = (uint)cpu;
        cpu->Index = index;
        cpu->ApicId = apicId;
        cpu->Online = 0;
        cpu->KmapDepth = 0;
        if (cpu->StackTop == 0)
        {
            ulong top = StackTopOf(index);
            ulong bottom = top - KernelStack.Size;
            if (bottom - PageSize.Bytes < StackRegionStart) KernelPanic.Fail("per-cpu: the kernel-stack region has no room for cpu", (ulong)index);
            KernelFrames frames = default;
            if (frames.Allocate(DoubleFaultStackOrder, out Pfn df) != Status.Ok) return Status.OutOfMemory;
            Status s = MapStack(bottom, top);
            if (s != Status.Ok)
            {
                frames.Free(df, DoubleFaultStackOrder);
                return s;
            }
            cpu->StackTop = top;
            Cpu.MapStack(index, bottom, top);
            cpu->StackGuard = bottom - PageSize.Bytes;
            cpu->DoubleFaultStackTop = (ulong)Platform.DirectMap.ToVirt(df.ToAddr().Value) + (PageSize.Bytes << DoubleFaultStackOrder);
        }

        ulong* gdt = BootGdt();
        for (int i = 0; i < GdtEntries; i++) cpu->Gdt[i] = gdt[i];
        byte* tss = cpu->Tss, dfTss = cpu->DoubleFaultTss;
        for (int i = 0; i < TssBytes; i++) { tss[i] = 0; dfTss[i] = 0; }
        *(uint*)(tss + 0x04) = (uint)cpu->StackTop;            // ESP0
        *(uint*)(tss + 0x08) = KernelData;                     // SS0
        *(ushort*)(tss + 0x66) = TssBytes;                     // no I/O bitmap
        *(uint*)(dfTss + 0x1C) = Arch.ReadCr3();               // the kernel's tables
        *(uint*)(dfTss + 0x20) = DoubleFaultEntry();           // EIP
        *(uint*)(dfTss + 0x24) = 0x2;                          // EFLAGS: interrupts off
        *(uint*)(dfTss + 0x38) = (uint)cpu->DoubleFaultStackTop;
        *(uint*)(dfTss + 0x48) = KernelData;                   // ES
        *(uint*)(dfTss + 0x4C) = KernelCode;                   // CS
        *(uint*)(dfTss + 0x50) = KernelData;                   // SS
        *(uint*)(dfTss + 0x54) = KernelData;                   // DS
        *(uint*)(dfTss + 0x58) = PerCpuSelector;               // FS: df_entry reads TssAddress through it
        *(uint*)(dfTss + 0x5C) = KernelData;                   // GS
        *(ushort*)(dfTss + 0x66) = TssBytes;
        cpu->Gdt[MainTssEntry] = TssSegment((uint)tss);
        cpu->Gdt[DoubleFaultTssEntry] = TssSegment((uint)dfTss);
        cpu->Gdt[TlsEntry] = 0;
        cpu->Gdt[PerCpuEntry] = DataSegment((uint)cpu);
        cpu->TssAddress = (uint)tss;
        cpu->GdtAddress = (uint)cpu->Gdt;
        cpu->GdtLimit = GdtEntries * 8 - 1;
        cpu->GdtBase = (uint)cpu->Gdt;
        return Status.Ok;
    }

    private const int StackPages = (int)(KernelStack.Size / PageSize.Bytes);

    /// <summary>Maps [<paramref name="bottom"/>, <paramref name="top"/>) read-write with a
    /// fresh frame per page, through the kernel's tables as the direct map reaches them. Return: Ok; OutOfMemory or the mapper's
    /// status (nothing left mapped or allocated).</summary>
    private static Status MapStack(ulong bottom, ulong top)
    {
        ulong* pfns = stackalloc ulong[StackPages];
        KernelFrames frames = default;
        FlushBatch batch = default;
        int mapped = 0;
        Status s = Status.Ok;
        for (ulong va = bottom; va < top; va += PageSize.Bytes)
        {
            if ((s = frames.Allocate(0, out Pfn pfn)) != Status.Ok) break;
            s = KernelAddressSpace.Mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB,
                PageFlags.Writable | KernelAddressSpace.NoExecute, ref frames, out FlushToken token);
            if (s != Status.Ok)
            {
                frames.Free(pfn, 0);
                break;
            }
            batch.Add(in token);
            pfns[mapped++] = pfn.Value;
        }
        if (s != Status.Ok)
        {
            for (int i = 0; i < mapped; i++)
            {
                if (KernelAddressSpace.Mapper.Unmap(VirtAddr.NewUnchecked(bottom + (ulong)i * PageSize.Bytes), ref frames, out FlushToken token) == Status.Ok)
                    batch.Add(in token);
            }
        }
        batch.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        if (s != Status.Ok)
            for (int i = 0; i < mapped; i++) frames.Free(Pfn.NewUnchecked(pfns[i]), 0);
        return s;
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
