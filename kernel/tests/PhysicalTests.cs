using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The physical-memory conformance checks that make sense on bare metal, run on the machine's
/// real RAM after <see cref="PhysicalBoot.Run"/>.
/// </summary>
internal static unsafe class PhysicalTests
{
    // The least RAM the tests marked with it need; a smaller guest (qemu --mem 4M) skips them.
    private const ulong SmallGuestMinimum = 8UL << 20;

    public static void RunAll(ref TestRunner r)
    {
        r.Run("physical: zones add up to the present frames", &ZonesAddUp);
        r.Run("physical: bad frees are refused and change nothing", &BadFreesRefused);
        r.Run("physical: low memory stays apart and below 1 MiB", &LowMemory);
        r.Run("physical: all memory in mixed orders, patterns, random free", &AllMemory, SmallGuestMinimum); // its tracking array takes order-10 blocks
    }

    private static ref BuddyAllocator Buddy => ref PhysicalBoot.Memory.Buddy;

    private static void ZonesAddUp(ref TestContext t)
    {
        ulong present = 0, managed = 0;
        for (int z = 0; z < Buddy.ZoneCount; z++)
        {
            Zone zone = Buddy.GetZone(z);
            present += zone.PresentFrames;
            managed += zone.ManagedFrames;
            t.Check(Buddy.ZoneFreeFrames(z) <= zone.ManagedFrames, "zone free <= managed");
        }
        t.Equal(present, PhysicalBoot.Memory.PresentFrames, "zone present frames sum to the present frames");
        t.Equal(managed, Buddy.ManagedFrames, "zone managed frames sum to the buddy's");
        t.Check(Buddy.ManagedFrames + PhysicalBoot.Memory.LowFrames <= present, "managed <= present");
        t.Check(PhysicalBoot.Memory.Memblock.IsRetired, "memblock retired after hand-over");
        t.Equal((ulong)Buddy.StateOf(Pfn.New(0)), (ulong)FrameState.Reserved, "frame 0 is not managed");
        ulong kernelPfn = KernelImage.Start >> PageSize.Shift;
        t.Equal((ulong)Buddy.StateOf(Pfn.New(kernelPfn)), (ulong)FrameState.Reserved, "kernel image frames are reserved");
    }

    private static void BadFreesRefused(ref TestContext t)
    {
        ulong free = Buddy.FreeFrames;
        t.Equal((ulong)Buddy.Allocate(2, MemoryClass.Kernel, out Pfn a), (ulong)Status.Ok, "allocate order 2");
        t.Equal((ulong)Buddy.Free(a.Add(1), 2), (ulong)Status.Misaligned, "unaligned free");
        t.Equal((ulong)Buddy.Free(a.Add(1), 0), (ulong)Status.NotAllocated, "interior frame");
        t.Equal((ulong)Buddy.Free(a, 1), (ulong)Status.WrongOrder, "wrong order");
        t.Equal((ulong)Buddy.Free(Pfn.NewUnchecked(KernelImage.Start >> PageSize.Shift), 0), (ulong)Status.NotAllocated, "kernel image frame");
        t.Equal((ulong)Buddy.Free(Pfn.NewUnchecked(1UL << 31), 0), (ulong)Status.OutOfRange, "frame beyond RAM");
        t.Equal((ulong)Buddy.Free(a, 2), (ulong)Status.Ok, "the real free");
        t.Equal((ulong)Buddy.Free(a, 2), (ulong)Status.DoubleFree, "double free");
        t.Equal(Buddy.FreeFrames, free, "free frames unchanged");
    }

    private static void LowMemory(ref TestContext t)
    {
        ref LowMemoryAllocator low = ref PhysicalBoot.Memory.LowMemory;
        ulong free = low.FreeFrames;
        t.Check(free > 0, "some low memory is free");
        t.Equal((ulong)low.AllocateRun(2, 1, out Pfn p), (ulong)Status.Ok, "two low frames");
        t.Check(p.Value >= 1 && p.Value + 2 <= LowMemoryAllocator.EndPfn, "below 1 MiB and not page 0");
        t.Equal((ulong)Buddy.StateOf(p), (ulong)FrameState.Reserved, "not the buddy allocator's");
        ulong* q = (ulong*)Platform.DirectMap.ToVirt(p.ToAddr().Value);
        q[0] = 0x1234_5678_9abc_def0UL;
        t.Equal(q[0], 0x1234_5678_9abc_def0UL, "low frame holds a write");
        t.Equal((ulong)low.FreeRun(p, 2), (ulong)Status.Ok, "free");
        t.Equal(low.FreeFrames, free, "low memory count back");
    }

    // splitmix64, as the hosted workloads use it.
    private static ulong Next(ref ulong s)
    {
        ulong z = s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private const int EntriesPerBlock = (4 << 20) / 8;   // one order-10 block of tracking entries
    private const int MaxDirectory = 64;                  // 64 x 512 Ki entries: 128 GiB of frames

    private static ulong Pattern(ulong pfn, ulong seed) => (pfn * 0x9E3779B97F4A7C15UL) ^ seed;

    /// <summary>
    /// Allocates every free frame in mixed orders (P(k) = 2^-(k+1), falling back to smaller
    /// orders when a large one is exhausted), writes a pattern derived from the frame number into
    /// the first and last word of every frame, verifies every pattern (a frame handed out twice
    /// would carry its second owner's pattern), frees in random order and checks that the free
    /// counts return and the allocator validates.
    /// </summary>
    private static void AllMemory(ref TestContext t)
    {
        ref BuddyAllocator b = ref Buddy;
        b.Drain();
        ulong free0 = b.FreeFrames;
        // The tracking array: order-10 blocks, one entry (pfn | order << 56) per allocation.
        ulong** dir = stackalloc ulong*[MaxDirectory];
        int dirBlocks = (int)((free0 + EntriesPerBlock - 1) / EntriesPerBlock);
        if (dirBlocks > MaxDirectory) dirBlocks = MaxDirectory;
        for (int i = 0; i < dirBlocks; i++)
        {
            if (b.Allocate(10, MemoryClass.Kernel, out Pfn d) != Status.Ok) { t.Check(false, "tracking block"); return; }
            dir[i] = (ulong*)Platform.DirectMap.ToVirt(d.ToAddr().Value);
        }
        ulong capacity = (ulong)dirBlocks * EntriesPerBlock;
        ulong seed = 0x5EED, rng = 42, n = 0, frames = 0;
        uint top = 10;
        while (n < capacity)
        {
            uint order = (uint)System.Numerics.BitOperations.TrailingZeroCount(Next(ref rng) | (1UL << 10));
            if (order > top) order = top;
            if (b.Allocate(order, MemoryClass.User, out Pfn p) != Status.Ok)
            {
                if (order == 0) break;
                top = order - 1;   // nothing of this order is left: never ask for it again
                continue;
            }
            ulong count = 1UL << (int)order;
            for (ulong f = 0; f < count; f++)
            {
                // MemoryClass.User may be HighMem on i386: reached through a temporary mapping.
                ulong* page = (ulong*)Platform.MapFrame((p.Value + f) << PageSize.Shift);
                page[0] = Pattern(p.Value + f, seed);
                page[511] = ~Pattern(p.Value + f, seed);
                Platform.UnmapFrame((byte*)page);
            }
            dir[n / EntriesPerBlock][n % EntriesPerBlock] = p.Value | ((ulong)order << 56);
            n++;
            frames += count;
        }
        t.Equal(b.FreeFrames, 0, "every free frame was allocated");
        t.Equal(frames + (ulong)dirBlocks * 1024, free0, "allocated frames equal the free frames at start");

        ulong bad = 0;
        for (ulong i = 0; i < n; i++)
        {
            ulong e = dir[i / EntriesPerBlock][i % EntriesPerBlock];
            ulong pfn = e & ((1UL << 56) - 1), count = 1UL << (int)(e >> 56);
            for (ulong f = 0; f < count; f++)
            {
                ulong* page = (ulong*)Platform.MapFrame((pfn + f) << PageSize.Shift);
                if (page[0] != Pattern(pfn + f, seed) || page[511] != ~Pattern(pfn + f, seed)) bad++;
                Platform.UnmapFrame((byte*)page);
            }
        }
        t.Equal(bad, 0, "frames whose pattern was overwritten (handed out twice)");

        for (ulong i = n; i > 1; i--)
        {
            ulong j = (Next(ref rng) >> 32) * i >> 32;
            ref ulong a = ref dir[(i - 1) / EntriesPerBlock][(i - 1) % EntriesPerBlock];
            ref ulong c = ref dir[j / EntriesPerBlock][j % EntriesPerBlock];
            ulong tmp = a;
            a = c;
            c = tmp;
        }
        ulong failedFrees = 0;
        for (ulong i = 0; i < n; i++)
        {
            ulong e = dir[i / EntriesPerBlock][i % EntriesPerBlock];
            if (b.Free(Pfn.NewUnchecked(e & ((1UL << 56) - 1)), (uint)(e >> 56)) != Status.Ok) failedFrees++;
        }
        t.Equal(failedFrees, 0, "frees refused");
        for (int i = 0; i < dirBlocks; i++) b.Free(Pfn.NewUnchecked(Platform.DirectMap.ToPhys(dir[i]) >> PageSize.Shift), 10);
        b.Drain();
        t.Equal(b.FreeFrames, free0, "free frames back to the start");
        b.Validate();
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  allocated "); w.Dec(frames); w.Str(" frames in "); w.Dec(n); w.Line(" blocks, all patterns intact, validator passed");
    }
}
