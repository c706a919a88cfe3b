using System;
using System.Runtime.InteropServices;
using SharpMM.Boot;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Heap;
using SharpMM.Physical;

namespace SharpMM.Hosted;

/// <summary>
/// The kernel heap brought up after a simulated machine's physical boot, as a kernel would
/// (kernel-zone frames, large blocks through the direct map), in native memory because a heap
/// must not move after Init. Fast mode by default; <see cref="HeapMode.Debug"/> turns on the
/// debug mode (poison, red zones, use-after-free and double-free detection, the leak report by
/// allocation site), which the reports then include. A heap that cannot start (no memory left for
/// its first pages) leaves <see cref="Heap"/> null and says why in <see cref="Status"/>: the
/// machine's physical report still prints.
/// </summary>
public sealed unsafe class MachineHeap : IDisposable
{
    /// <summary>The heap, or null when it could not start.</summary>
    public KernelHeap<BuddyClassFrames, DirectLargeMapper>* Heap { get; private set; }
    /// <summary>Init's status.</summary>
    public Status Status { get; }

    /// <summary>Starts the heap over <paramref name="machine"/>'s buddy allocator.</summary>
    public MachineHeap(SimulatedMachine machine, HeapMode mode = HeapMode.Fast)
    {
        Heap = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)NativeMemory.AllocZeroed((nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>));
        HeapConfig config = mode == HeapMode.Debug ? HeapConfig.Debugging : HeapConfig.Default;
        Status = Heap->Init(new BuddyClassFrames(&machine.Memory->Buddy, MemoryClass.Kernel), machine.DirectMap, new DirectLargeMapper(machine.DirectMap), config);
        if (Status != Status.Ok) { NativeMemory.Free(Heap); Heap = null; }
    }

    /// <summary>slabinfo and meminfo; in debug mode also the leak report and the heap's
    /// findings; when the heap did not start, one line saying why.</summary>
    public void WriteText(ref TextWriter<StringSink> w)
    {
        if (Heap == null)
        {
            w.Str("kernel heap not started: "); w.Str(StatusNames.Name(Status));
            w.Line();
            return;
        }
        HeapReport.WriteText(ref w, in Heap->Pages);
        if (!Heap->Pages.IsDebug) return;
        w.Line();
        HeapReport.WriteLeaks(ref w, in Heap->Pages);
        HeapReport.WriteEvents(ref w, in Heap->Pages);
    }

    /// <summary>The lock table (<see cref="LockReport"/>) of the boot's allocators and the heap:
    /// the zone locks, the low-memory pool's, the heap's page lists and slab caches. One CPU:
    /// nothing is contended, and the zone locks are not taken while one CPU is online.</summary>
    public void WriteLocks(ref TextWriter<StringSink> w, in PhysicalMemory pm) => Locks(in pm).WriteText(ref w);

    private LockReport Locks(in PhysicalMemory pm)
    {
        LockReport r = default;
        pm.Buddy.AddLockStats(ref r);
        pm.LowMemory.AddLockStats(ref r);
        if (Heap != null) Heap->Pages.AddLockStats(ref r);
        return r;
    }

    /// <summary>The boot report's JSON: the machine's members, the heap's (with the leak report
    /// in debug mode) when the heap started, and "locks", the table of <see cref="WriteLocks"/>
    /// (the kernel's SHARPMM-JSON line has the same members).</summary>
    public void WriteJson(ref TextWriter<StringSink> w, in PhysicalMemory pm)
    {
        JsonWriter<StringSink> j = default;
        j.BeginObject(ref w);
        BootReport.WriteJsonMembers(ref j, ref w, in pm);
        if (Heap != null) HeapReport.WriteJson(ref j, ref w, in Heap->Pages);
        Locks(in pm).WriteJson(ref j, ref w);
        j.EndObject(ref w);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Heap != null) NativeMemory.Free(Heap);
        Heap = null;
    }
}
