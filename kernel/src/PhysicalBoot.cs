using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Heap;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// Stage 2 of kmain: the library's boot sequence on the machine's real memory. Sanitizes the
/// loader's map, reserves what the loader and the kernel occupy (image, Multiboot information,
/// memory-map buffer, command line, modules), builds memblock and the buddy allocator over all
/// RAM through the architecture's direct map (<see cref="Platform.DirectMap"/>) with its zones, prints the same report
/// as `sharpmm boot` and (later, <see cref="WriteJson"/>) on one line the same JSON as `sharpmm
/// boot --json`, prefixed "SHARPMM-JSON ". It then brings up the kernel heap; from here on kernel
/// <c>new</c> is kmalloc.
/// </summary>
internal static unsafe class PhysicalBoot
{
    private static PhysicalMemory s_memory;
    private static KernelHeap<BuddyClassFrames, KernelLargeMapper> s_heap;

    /// <summary>The kernel heap (kmalloc), up after <see cref="Run"/>; kernel <c>new</c> goes here.</summary>
    public static ref KernelHeap<BuddyClassFrames, KernelLargeMapper> Heap => ref s_heap;
    private static MemoryMap s_sanitized;

    /// <summary>The physical memory manager (valid after <see cref="Run"/>).</summary>
    public static ref PhysicalMemory Memory => ref s_memory;

    /// <summary>The sanitized memory map the boot ran on (sorted, no overlaps; valid after <see cref="Run"/>).</summary>
    public static ref MemoryMap Sanitized => ref s_sanitized;

    /// <summary>rdtsc cycles the library's boot sequence took.</summary>
    public static ulong InitCycles { get; private set; }

    /// <summary>Runs the boot sequence; panics with the reason when the map or the boot fails.</summary>
    public static void Run(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        MemoryMap raw = loader.Map;
        ref MemoryMap sanitized = ref s_sanitized;
        if (MapSanitizer.Sanitize(ref raw, ref sanitized, out MapError error) != Status.Ok)
        {
            w.Str("memory map rejected: ");
            error.Write(ref w);
            w.Line();
            KernelPanic.Fail("kmain: the loader's memory map is unusable");
        }

        BootInfo info = BootInfo.Default();
        info.Layout = Platform.Zones;
        info.DirectMapLimit = Platform.DirectMapLimit;
        info.PhysicalLimit = Platform.PhysicalLimit;
        info.KernelImage = KernelImage.Range;
        MultibootInfo* mb = loader.Multiboot;
        DirectMap dm = Platform.DirectMap;
        ulong mbPhys = dm.ToPhys(mb);
        info.BootInformation = PhysRange.FromBounds(mbPhys, mbPhys + (ulong)sizeof(MultibootInfo));
        if ((mb->Flags & MultibootInfo.FlagMemoryMap) != 0)
            info.MapBuffer = PhysRange.FromBounds(mb->MmapAddr, (ulong)mb->MmapAddr + mb->MmapLength);
        if (loader.CommandLine.Text != null)
        {
            ulong cmdPhys = dm.ToPhys(loader.CommandLine.Text);
            info.CommandLine = PhysRange.FromBounds(cmdPhys, cmdPhys + (ulong)loader.CommandLine.Length + 1);
        }
        if ((mb->Flags & MultibootInfo.FlagModules) != 0)
        {
            MultibootModule* mods = (MultibootModule*)dm.ToVirt(mb->ModulesAddr);
            for (uint i = 0; i < mb->ModuleCount; i++)
            {
                if (info.AddModule(PhysRange.FromBounds(mods[i].Start, mods[i].End)) != Status.Ok)
                    KernelPanic.Fail("kmain: more boot modules than BootInfo records", mb->ModuleCount);
            }
            info.AddModule(PhysRange.FromBounds(mb->ModulesAddr, (ulong)mb->ModulesAddr + mb->ModuleCount * (ulong)sizeof(MultibootModule)));
        }

        ulong t0 = Arch.Rdtsc();
        Status st = s_memory.Boot(in sanitized, in info, dm);
        InitCycles = Arch.Rdtsc() - t0;
        if (st != Status.Ok) KernelPanic.Fail("kmain: physical memory boot failed, status", (ulong)st);

        // The heap before the report, so the report counts what it holds. "debug=heap" on the
        // command line starts it in debug mode (poison, red zones, use-after-free and double-free
        // detection, the leak report by allocation site, printed before the test summary).
        bool debugHeap = loader.CommandLine.Has("debug=heap");
        var kernelFrames = new BuddyClassFrames((BuddyAllocator*)Unsafe.AsPointer(ref s_memory.Buddy), MemoryClass.Kernel);
        st = s_heap.Init(kernelFrames, dm, Platform.NewLargeMapper(), debugHeap ? HeapConfig.Debugging : HeapConfig.Default);
        if (st != Status.Ok) KernelPanic.Fail("kmain: kernel heap init failed, status", (ulong)st);
        if (debugHeap) w.Line("kernel heap: debug mode (debug=heap): poison, red zones, use-after-free and double-free checks, leak report");
        ManagedNewHook.SetAllocator(&NewFromKmalloc);

        w.Line();
        BootReport.WriteText(ref w, in s_memory);
        w.Str("memory init: ");
        w.Dec(InitCycles);
        w.Str(" cycles for ");
        w.Size(s_memory.PresentFrames << PageSize.Shift);
        w.Line(" (sanitize excluded: memblock, frame metadata, hand-over)");
        w.Line();
        HeapReport.WriteText(ref w, in s_heap.Pages);
        w.Line();
    }

    /// <summary>The boot report as one JSON line, "SHARPMM-JSON {...}": `sharpmm boot --json`'s
    /// members, the heap's, "locks" (the kernel's lock statistics so far, KernelLocks) and
    /// "cpus", the CPUs online (kmain stage 2 prints it once the other CPUs are up).</summary>
    public static void WriteJson(int cpus)
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("SHARPMM-JSON ");
        JsonWriter<SerialSink> j = default;
        j.BeginObject(ref w);
        BootReport.WriteJsonMembers(ref j, ref w, in s_memory);
        HeapReport.WriteJson(ref j, ref w, in s_heap.Pages);
        LockReport locks = KernelLocks.Collect();
        locks.WriteJson(ref j, ref w);
        j.Number(ref w, "cpus", (ulong)cpus);
        j.EndObject(ref w);
        w.Line();
        w.Line();
    }

    /// <summary>Kernel <c>new</c>: kmalloc (slab size classes up to 8 KiB, buddy blocks with a
    /// header beyond). Objects are never freed (there is no GC), and they count in slabinfo.</summary>
    private static void* NewFromKmalloc(nuint byteCount)
    {
        return s_heap.Kmalloc(byteCount, out void* p) == Status.Ok ? p : null;
    }
}
