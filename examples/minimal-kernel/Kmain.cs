using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Heap;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;

namespace MinimalKernel;

/// <summary>
/// kmain of the minimal kernel: SharpMM's boot order (docs/embedding.md, "The order of calls at
/// boot") and nothing else. Memory map, memblock and the buddy allocator, the kernel's own page
/// tables, kmalloc; each step on serial with checks that it worked, then "N passed, M failed" and
/// a QEMU exit (isa-debug-exit: status 33 when every check passed, 35 otherwise).
/// RAM is reached at virt == phys throughout: boot.S maps the first 4 GiB that way, and the
/// tables built here keep it (the library's DirectMap(0)).
/// </summary>
internal static unsafe class Kernel
{
    // Statics rather than locals: the maps, PhysicalMemory and the heap are tens of KiB, and the
    // buddy allocator and the heap must not move once built (their users keep pointers to them).
    private static MemoryMap s_raw, s_sanitized;
    private static PhysicalMemory s_memory;
    private static Mapper<X86LongModeFormat, DirectMapTableAccess> s_mapper;
    private static KernelHeap<BuddyClassFrames, DirectLargeMapper> s_heap;
    private static int s_passed, s_failed;

    private const ulong BootMapLimit = 4UL << 30;   // what boot.S maps
    private static DirectMap Identity => new DirectMap(0);
    private static TextWriter<Serial> Out => new TextWriter<Serial>(default);

    [RuntimeExport("kmain")]
    private static void Main(ulong magic, ulong info, ulong imageStart, ulong dataStart, ulong imageEnd)
    {
        Panic.SetHook(&OnPanic);                       // 1. before anything can fail
        TextWriter<Serial> w = Out;
        w.Line("minimal kernel: in long mode, kmain running");
        if (magic != Multiboot1Info.BootloaderMagic) Panic.Fail("not started by a Multiboot 1 loader, EAX", magic);

        // 2. The loader's memory map, sanitized (sorted, overlaps resolved).
        Multiboot1Info mb = Multiboot1Info.Read((byte*)info);
        if (mb.AppendMemoryMap((byte*)(ulong)mb.MmapAddr, ref s_raw, out MapError error) != Status.Ok
            || MapSanitizer.Sanitize(ref s_raw, ref s_sanitized, out error) != Status.Ok)
        {
            w.Str("memory map: ");
            error.Write(ref w);
            w.Line();
            Panic.Fail("the loader's memory map is unusable");
        }
        ulong usable = 0, top = 0;
        for (int i = 0; i < s_sanitized.Count; i++)
        {
            MemoryMapEntry e = s_sanitized[i];
            if (e.Type != MemoryType.Usable) continue;
            usable += e.Size;
            if (e.End > top) top = e.End;
        }
        w.Str("memory map: ");
        w.Dec((ulong)s_sanitized.Count);
        w.Str(" entries, ");
        w.Size(usable);
        w.Str(" usable up to ");
        w.Hex(top, 8);
        w.Line();
        if (top > BootMapLimit) Panic.Fail("RAM above 4 GiB: boot.S maps the first 4 GiB only (boot with -m 3G or less); RAM ends at", top);
        Check(usable >= 16UL << 20, "the map has at least 16 MiB of usable RAM");

        // 3. memblock, frame metadata, the buddy allocator; the image and the loader's data reserved.
        BootInfo boot = BootInfo.Default();
        boot.KernelImage = PhysRange.FromBounds(imageStart, imageEnd);
        boot.BootInformation = PhysRange.FromBounds(info, info + Multiboot1Info.MinimumSize);
        if (mb.HasMemoryMap) boot.MapBuffer = PhysRange.FromBounds(mb.MmapAddr, (ulong)mb.MmapAddr + mb.MmapLength);
        if (mb.HasCommandLine)
        {
            byte* cmd = (byte*)(ulong)mb.CommandLineAddr;
            ulong length = 0;
            while (cmd[length] != 0) length++;
            boot.CommandLine = PhysRange.FromBounds(mb.CommandLineAddr, mb.CommandLineAddr + length + 1);
        }
        Status s = s_memory.Boot(in s_sanitized, in boot, Identity);
        if (s != Status.Ok) Panic.Fail("physical memory boot failed, status", (ulong)s);
        ref BuddyAllocator buddy = ref s_memory.Buddy;
        w.Str("buddy allocator: ");
        w.Size(buddy.FreeFrames * PageSize.Bytes);
        w.Str(" free of ");
        w.Size(buddy.ManagedFrames * PageSize.Bytes);
        w.Line(" managed");
        ulong freeBefore = buddy.FreeFrames;
        Check(buddy.Allocate(0, MemoryClass.Kernel, out Pfn frame) == Status.Ok, "the buddy allocator hands out a frame");
        ulong frameAddr = frame.ToAddr().Value;
        Check(IsUsable(frameAddr) && (frameAddr >= imageEnd || frameAddr + PageSize.Bytes <= imageStart),
            "the frame is usable RAM outside the kernel image");
        Check(buddy.Free(frame, 0) == Status.Ok && buddy.FreeFrames == freeBefore, "freeing it restores the free count");

        // 4. Our own page tables, from buddy frames: the image W^X, usable RAM writable and no-execute
        //    (page 0 left out, so a null dereference faults); then CR3.
        var frames = new BuddyClassFrames((BuddyAllocator*)Unsafe.AsPointer(ref buddy), MemoryClass.Kernel);
        s = Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(new DirectMapTableAccess(Identity), ref frames, out s_mapper);
        if (s != Status.Ok) Panic.Fail("no frame for the PML4, status", (ulong)s);
        FlushBatch batch = default;
        MapIdentity(imageStart, dataStart, PageFlags.Executable, ref frames, ref batch);   // text, rodata: read-only
        MapIdentity(dataStart, imageEnd, PageFlags.Writable, ref frames, ref batch);       // data, bss, stack
        for (int i = 0; i < s_sanitized.Count; i++)
        {
            MemoryMapEntry e = s_sanitized[i];
            if (e.Type != MemoryType.Usable) continue;
            ulong start = (e.Start + PageSize.OffsetMask) & ~PageSize.OffsetMask;    // whole frames only
            ulong end = e.End & ~PageSize.OffsetMask;
            if (start < PageSize.Bytes) start = PageSize.Bytes;
            MapIdentity(start, end < imageStart ? end : imageStart, PageFlags.Writable, ref frames, ref batch);
            MapIdentity(start > imageEnd ? start : imageEnd, end, PageFlags.Writable, ref frames, ref batch);
        }
        FlushPolicy policy = FlushPolicy.Default;
        batch.Ignore(ref policy);            // the tables are not live yet: nothing of theirs is cached
        CpuHooks cpu = default;
        cpu.WriteCr3(s_mapper.RootPhys);
        w.Str("page tables: CR3 = ");
        w.Hex(cpu.ReadCr3(), 8);
        w.Line(", the library's tables are live");
        Check(cpu.ReadCr3() == s_mapper.RootPhys, "CR3 holds the mapper's root");
        Check(s_mapper.Translate(VirtAddr.NewUnchecked(imageStart), out Translation text) == Status.Ok
              && text.Phys.Value == imageStart && (text.Flags & PageFlags.Writable) == 0 && (text.Flags & PageFlags.Executable) != 0,
            "kernel text is mapped at itself, read-only and executable");
        Check(s_mapper.Translate(VirtAddr.NewUnchecked(dataStart), out Translation data) == Status.Ok
              && (data.Flags & PageFlags.Writable) != 0 && (data.Flags & PageFlags.Executable) == 0,
            "kernel data is writable and no-execute");
        Check(s_mapper.Translate(VirtAddr.NewUnchecked(0), out _) == Status.NotMapped, "page 0 is not mapped");

        // 5. kmalloc over the buddy allocator; large blocks reached through the direct map.
        s = s_heap.Init(frames, Identity, new DirectLargeMapper(Identity), HeapConfig.Default);
        if (s != Status.Ok) Panic.Fail("kmalloc init failed, status", (ulong)s);
        w.Line("kmalloc: up");
        // '&', not '&&': all three are attempted, so each pointer is assigned (null on failure).
        bool allocated = s_heap.Kmalloc(24, out void* pa) == Status.Ok & s_heap.Kmalloc(200, out void* pb) == Status.Ok
                         & s_heap.Kmalloc(1000, out void* pc) == Status.Ok;
        byte* a = (byte*)pa, b = (byte*)pb, c = (byte*)pc;
        Check(allocated && a != null && b != null && c != null, "kmalloc(24), kmalloc(200), kmalloc(1000)");
        if (allocated)
        {
            Fill(a, 24, 0xA1); Fill(b, 200, 0xB2); Fill(c, 1000, 0xC3);
            Check(Holds(a, 24, 0xA1) && Holds(b, 200, 0xB2) && Holds(c, 1000, 0xC3), "the three objects do not overlap");
            Check(s_heap.Kfree(a) == Status.Ok && s_heap.Kfree(b) == Status.Ok && s_heap.Kfree(c) == Status.Ok, "kfree of each");
            Check(s_heap.Kfree(b) == Status.DoubleFree, "a second kfree is refused as a double free");
        }
        ulong freeFrames = buddy.FreeFrames;
        Check(s_heap.Kmalloc(64 * 1024, out void* large) == Status.Ok && buddy.FreeFrames + 16 <= freeFrames,
            "kmalloc(64 KiB) takes a buddy block");
        Check(s_heap.Kfree(large) == Status.Ok && buddy.FreeFrames == freeFrames, "kfree gives the block back");

        w.Dec((ulong)s_passed);
        w.Str(" passed, ");
        w.Dec((ulong)s_failed);
        w.Line(" failed");
        Exit(s_failed == 0);
    }

    /// <summary>Maps [start, end) at virt == phys in 2 MiB pages where alignment allows, 4 KiB otherwise.</summary>
    private static void MapIdentity(ulong start, ulong end, PageFlags flags, ref BuddyClassFrames frames, ref FlushBatch batch)
    {
        if (end <= start) return;
        Status s = s_mapper.MapRange(VirtAddr.NewUnchecked(start), PhysAddr.NewUnchecked(start), end - start, flags,
            MappingSize.Size2MiB, ref frames, ref batch);
        if (s != Status.Ok) Panic.Fail("mapping failed at", start);
    }

    private static bool IsUsable(ulong addr)
    {
        for (int i = 0; i < s_sanitized.Count; i++)
        {
            MemoryMapEntry e = s_sanitized[i];
            if (e.Type == MemoryType.Usable && addr >= e.Start && addr + PageSize.Bytes <= e.End) return true;
        }
        return false;
    }

    private static void Fill(byte* p, int n, byte v) { for (int i = 0; i < n; i++) p[i] = v; }

    private static bool Holds(byte* p, int n, byte v)
    {
        for (int i = 0; i < n; i++) if (p[i] != v) return false;
        return true;
    }

    private static void Check(bool ok, string what)
    {
        TextWriter<Serial> w = Out;
        w.Str(ok ? "  ok    " : "  FAIL  ");
        w.Line(what);
        if (ok) s_passed++; else s_failed++;
    }

    /// <summary>The library's panic hook: the message on serial, then a failing QEMU exit.</summary>
    private static void OnPanic(string message, ulong value, bool hasValue)
    {
        TextWriter<Serial> w = Out;
        w.Str("panic: ");
        w.Str(message);
        if (hasValue) { w.Char(' '); w.Hex(value); }
        w.Line();
        Exit(false);
    }

    /// <summary>isa-debug-exit at port 0xF4: QEMU exits with (value &lt;&lt; 1) | 1.</summary>
    private static void Exit(bool passed)
    {
        Cpu.OutB(0xF4, passed ? (byte)0x10 : (byte)0x11);
        while (true) { }
    }

    // What the corelib and ilc's code call when a check fails (kernel/corelib/README.md, "Runtime
    // contract"): a failed corelib check, a stack cookie overwritten.
    [RuntimeExport("CorelibFailFast")]
    private static void CorelibFailFast(string message) => Panic.Fail(message);

    [RuntimeExport("RhpFallbackFailFast")]
    private static void RhpFallbackFailFast() => Panic.Fail("stack buffer overrun or corrupted runtime state");
}

/// <summary>Serial output on COM1 (QEMU's -serial; no set-up needed there).</summary>
internal struct Serial : ITextSink
{
    public void Put(byte c) => Cpu.OutB(0x3F8, c);
}

/// <summary>The instructions C# cannot express, in boot.S.</summary>
internal static class Cpu
{
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outb")] public static extern void OutB(ushort port, byte value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr3")] public static extern ulong ReadCr3();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr3")] public static extern void WriteCr3(ulong value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_invlpg")] public static extern void Invlpg(ulong virt);
}

/// <summary>The library's view of the CPU's translation controls (IArchHooks).</summary>
internal struct CpuHooks : IArchHooks
{
    public ulong ReadCr3() => Cpu.ReadCr3() & 0x000F_FFFF_FFFF_F000UL;
    public void WriteCr3(ulong topLevelTablePhys) => Cpu.WriteCr3(topLevelTablePhys);
    public void InvalidatePage(ulong virtualAddress) => Cpu.Invlpg(virtualAddress);
    public void FlushAll() => Cpu.WriteCr3(Cpu.ReadCr3());     // no global pages are used
    public bool HasInvalidatePage => true;
    public bool TryInvalidatePage(ulong virtualAddress) { Cpu.Invlpg(virtualAddress); return true; }
}
