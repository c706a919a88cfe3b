using System;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;

namespace SharpMM.Tests.Heap;

/// <summary>
/// A private kernel heap over a private buddy allocator whose frames are real host memory:
/// frames [StartPfn, StartPfn + frames) live in one host buffer reached through a direct map,
/// the buddy allocator's metadata in another. Tests build one each, with as little memory as
/// they need (OOM tests give it a few dozen frames).
/// </summary>
public sealed unsafe class HeapFixture : IDisposable
{
    /// <summary>First managed frame (any 4 MiB-aligned base behaves alike).</summary>
    public const ulong StartPfn = 1024;

    private readonly HostMemory _ram;
    private readonly HostMemory _meta;
    private bool _destroyed;

    public BuddyAllocator* Buddy { get; }
    public KernelHeap<BuddyClassFrames, DirectLargeMapper>* Heap { get; }
    public DirectMap Map { get; }
    public ulong Frames { get; }
    /// <summary>A page source over the buddy allocator's kernel frames (for tests of the heap's parts).</summary>
    public HeapPageSource Source => HeapPageSource.Over(_kernelFrames, Map);
    private readonly BuddyClassFrames* _kernelFrames;
    /// <summary>Free frames right after the heap's Init (its debug state taken).</summary>
    public ulong FreeAfterInit { get; }
    /// <summary>Free frames before the heap existed.</summary>
    public ulong FreeBeforeInit { get; }

    public HeapFixture(ulong frames = 8192, HeapConfig? config = null)
    {
        Frames = frames;
        _ram = new HostMemory(frames << PageSize.Shift);
        _meta = new HostMemory(8UL << 20);
        var md = new HostMetadata(_meta.Base, _meta.Size, 0x1_0000_0000_0000);
        Buddy = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(StartPfn), Pfn.New(StartPfn + frames)) };
        if (Buddy->Init(ref md, ram, ZoneLayout.Flat(), PcpConfig.Default) != Status.Ok) throw new InvalidOperationException("buddy init");
        Buddy->AddFreeRange(Pfn.New(StartPfn), Pfn.New(StartPfn + frames));
        _kernelFrames = (BuddyClassFrames*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyClassFrames));
        *_kernelFrames = new BuddyClassFrames(Buddy, MemoryClass.Kernel);
        Map = new DirectMap((ulong)_ram.Base - (StartPfn << PageSize.Shift));
        FreeBeforeInit = Buddy->FreeFrames;
        Heap = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)NativeMemory.AllocZeroed((nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>));
        Status s = Heap->Init(new BuddyClassFrames(Buddy, MemoryClass.Kernel), Map, new DirectLargeMapper(Map), config ?? HeapConfig.Default);
        if (s != Status.Ok) throw new InvalidOperationException($"heap init: {s}");
        FreeAfterInit = Buddy->FreeFrames;
    }

    public ref KernelHeap<BuddyClassFrames, DirectLargeMapper> H => ref *Heap;
    public ref HeapPages Pages => ref Heap->Pages;
    public HeapPages* PagesPtr => (HeapPages*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref Heap->Pages);

    /// <summary>The RAM buffer's bounds (for "foreign pointer" tests: memory outside it).</summary>
    public byte* RamStart => _ram.Base;
    public byte* RamEnd => _ram.Base + _ram.Size;

    /// <summary>Destroys the heap; asserts that every frame is back in the buddy allocator.</summary>
    public void DestroyAndCheck()
    {
        Status s = Heap->Destroy();
        if (s != Status.Ok) throw new InvalidOperationException($"heap destroy: {s}");
        _destroyed = true;
        if (Buddy->FreeFrames != FreeBeforeInit) throw new InvalidOperationException($"{FreeBeforeInit - Buddy->FreeFrames} frames not returned");
        Buddy->Validate();
    }

    public void Dispose()
    {
        if (!_destroyed) Heap->Destroy();
        NativeMemory.Free(Heap);
        NativeMemory.Free(_kernelFrames);
        NativeMemory.Free(Buddy);
        _ram.Dispose();
        _meta.Dispose();
    }
}

/// <summary>What a refused operation must leave unchanged.</summary>
public unsafe readonly record struct HeapSnapshot(ulong FreeFrames, ulong SlabPages, ulong LargePages, ulong LargeBytes,
    ulong LargeCount, ulong Descriptors, string Caches, string Hot)
{
    public static HeapSnapshot Take(HeapFixture f)
    {
        var sb = new System.Text.StringBuilder();
        for (SlabCache* c = f.Pages.FirstCache; c != null; c = c->NextCache)
            sb.Append($"{c->ActiveObjects}/{c->TotalObjects}/{c->CpuCachedObjects}/{c->PartialSlabs}/{c->FullSlabs}/{c->EmptySlabs};");
        HotSlot h = f.Pages.Hot[0];
        return new HeapSnapshot(f.Buddy->FreeFrames, f.Pages.SlabPages, f.Pages.LargePages, f.Pages.LargeBytes, f.Pages.LargeCount,
            f.Pages.Descriptors, sb.ToString(), $"{h.Object:x}/{h.Mark:x}/{h.OwnerWord:x}/{(ulong)h.Slab:x}");
    }
}
