using System.Runtime.CompilerServices;
using SharpMM.Heap;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The kernel heap's conformance checks on the machine's real memory, after
/// <see cref="PhysicalBoot.Run"/>: kernel <c>new</c> lands in kmalloc; mixed kmalloc sizes
/// (slab classes and the large path) hold their bytes and go back; bad frees are refused; a
/// slab cache is created, used and destroyed with every page returned.
/// </summary>
internal static unsafe class HeapTests
{
    // The least RAM (present frames) the tests marked with it need; a smaller guest (qemu --mem
    // 4M) skips them. The mixed-sizes test holds about 10 MiB of objects at its peak: a 10 MiB
    // guest fails it, a 12 MiB guest (11.4 MiB present) passes.
    private const ulong SmallGuestMinimum = 11UL << 20;

    public static void RunAll(ref TestRunner r)
    {
        r.Run("heap: new goes through kmalloc", &NewUsesKmalloc);
        r.Run("heap: kmalloc mixed sizes, patterns, random free", &MixedSizes, SmallGuestMinimum); // its objects take several MiB
        r.Run("heap: bad frees are refused and change nothing", &BadFrees);
        r.Run("heap: slab cache create, allocate, free, destroy", &CacheLifecycle);
        r.Run("heap: large kmalloc is mapped at a virtual range with a guard page", &LargeBlocksAreMapped);
    }

    private static ref KernelHeap<BuddyClassFrames, KernelLargeMapper> Heap => ref PhysicalBoot.Heap;

    private sealed class Probe
    {
        public ulong A, B;
    }

    private static void NewUsesKmalloc(ref TestContext t)
    {
        Probe p = new Probe();
        p.A = 7; p.B = 9;
        // An object reference points past the object header word that RhpNewFast puts first.
        void* addr = (byte*)Unsafe.As<Probe, nuint>(ref p) - sizeof(nint);
        t.Equal((ulong)Heap.Ksize(addr, out ulong size), (ulong)Status.Ok, "the object is a live kmalloc allocation");
        t.Check(size >= 24 && size <= 32, "a small object comes from a small size class");
        t.Equal(p.A + p.B, 16, "fields hold their values");
    }

    private static ulong Next(ref ulong s)
    {
        ulong z = s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private const int Count = 2048;

    private static void MixedSizes(ref TestContext t)
    {
        ulong free0 = PhysicalBoot.Memory.Buddy.FreeFrames;
        ulong* ptrs = stackalloc ulong[Count];
        uint* sizes = stackalloc uint[Count];
        ulong rng = 7;
        int failed = 0;
        for (int i = 0; i < Count; i++)
        {
            ulong r = Next(ref rng);
            uint size = (r & 15) == 0 ? 8193 + (uint)((r >> 8) % 60000) : 2 + (uint)((r >> 8) % 2047); // two markers need two bytes
            if (Heap.Kmalloc(size, out void* p) != Status.Ok) { failed++; ptrs[i] = 0; continue; }
            byte* b = (byte*)p;
            b[0] = (byte)i; b[size - 1] = (byte)(i * 7);
            ptrs[i] = (ulong)p; sizes[i] = size;
        }
        t.Equal((ulong)failed, 0, "allocations that failed");
        int bad = 0;
        for (int i = 0; i < Count; i++)
        {
            byte* b = (byte*)ptrs[i];
            if (b != null && (b[0] != (byte)i || b[sizes[i] - 1] != (byte)(i * 7))) bad++;
        }
        t.Equal((ulong)bad, 0, "objects whose bytes were overwritten");
        for (int i = Count - 1; i > 0; i--)
        {
            int j = (int)((Next(ref rng) >> 32) * (ulong)(i + 1) >> 32);
            ulong tp = ptrs[i]; ptrs[i] = ptrs[j]; ptrs[j] = tp;
        }
        int refused = 0;
        for (int i = 0; i < Count; i++) if (ptrs[i] != 0 && Heap.Kfree((void*)ptrs[i]) != Status.Ok) refused++;
        t.Equal((ulong)refused, 0, "frees refused");
        Heap.Shrink();
        PhysicalBoot.Memory.Buddy.Drain();
        t.Check(PhysicalBoot.Memory.Buddy.FreeFrames + 64 >= free0, "frames back to the buddy allocator after shrink (slack: kernel objects)");
        Heap.Validate();
    }

    private static void BadFrees(ref TestContext t)
    {
        t.Equal((ulong)Heap.Kmalloc(100, out void* small), (ulong)Status.Ok, "kmalloc(100)");
        t.Equal((ulong)Heap.Kmalloc(20000, out void* large), (ulong)Status.Ok, "kmalloc(20000)");
        t.Check(Heap.Kfree((byte*)small + 8) != Status.Ok, "interior pointer of a small object");
        t.Check(Heap.Kfree((byte*)large + 4096) != Status.Ok, "interior pointer of a large block");
        t.Check(Heap.Kfree((void*)(KernelImage.Start + 0x100)) != Status.Ok, "pointer into the kernel image");
        t.Equal((ulong)Heap.Kfree(small), (ulong)Status.Ok, "free small");
        t.Equal((ulong)Heap.Kfree(small), (ulong)Status.DoubleFree, "double free small");
        t.Equal((ulong)Heap.Kfree(large), (ulong)Status.Ok, "free large");
        t.Check(Heap.Kfree(large) != Status.Ok, "double free large");
        Heap.Validate();
    }

    private static void CacheLifecycle(ref TestContext t)
    {
        ulong free0 = PhysicalBoot.Memory.Buddy.FreeFrames;
        byte* storage = stackalloc byte[sizeof(SlabCache)];
        SlabCache* cache = (SlabCache*)storage;
        *cache = default;
        t.Equal((ulong)cache->Create((HeapPages*)Unsafe.AsPointer(ref Heap.Pages), 40, 8, "test-objects"), (ulong)Status.Ok, "create");
        void** objs = stackalloc void*[300];
        for (int i = 0; i < 300; i++)
        {
            if (cache->Allocate(out objs[i]) != Status.Ok) { t.Check(false, "allocate"); return; }
            *(ulong*)objs[i] = (ulong)i;
        }
        int bad = 0;
        for (int i = 0; i < 300; i++) if (*(ulong*)objs[i] != (ulong)i) bad++;
        t.Equal((ulong)bad, 0, "objects overwritten");
        for (int i = 0; i < 300; i += 2) t.Equal((ulong)cache->Free(objs[i]), (ulong)Status.Ok, "free even");
        for (int i = 1; i < 300; i += 2) t.Equal((ulong)cache->Free(objs[i]), (ulong)Status.Ok, "free odd");
        t.Equal((ulong)cache->Destroy(), (ulong)Status.Ok, "destroy");
        PhysicalBoot.Memory.Buddy.Drain();
        t.Check(PhysicalBoot.Memory.Buddy.FreeFrames + 8 >= free0, "slab pages back");
    }

    private static void LargeBlocksAreMapped(ref TestContext t)
    {
        t.Equal((ulong)Heap.Kmalloc(20000, out void* p), (ulong)Status.Ok, "kmalloc(20000)");
        ulong va = (ulong)(nuint)p;
        t.Check(va >= Platform.WindowStart && va < Platform.WindowEnd, "the block lies in the physical-mapping window");
        ((byte*)p)[0] = 0x5A; ((byte*)p)[19999] = 0xA5;
        t.Check(((byte*)p)[0] == 0x5A && ((byte*)p)[19999] == 0xA5, "both ends hold writes");
        // The block is 8 pages (order 3, the header first); the page after it is the guard.
        ulong blockStart = va & ~0xFFFUL, guard = blockStart + (8UL << 12);
        t.Check(!FaultProbe.Read(guard, out _), "the guard page after the block faults");
        t.Equal((ulong)Heap.Kfree(p), (ulong)Status.Ok, "kfree");
        t.Check(!FaultProbe.Read(blockStart, out _), "the range is unmapped after kfree");
    }
}
