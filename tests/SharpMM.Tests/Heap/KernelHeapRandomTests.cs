using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>
/// Seeded random sequences of kmalloc, kzalloc, krealloc and kfree against a reference model
/// (a map of live pointers to size and fill byte). After each step the new object overlaps no
/// live one; every few hundred steps every live object's bytes are intact, the caches' counts
/// add up to the model's and the whole heap validates. At the end everything is freed (forward,
/// backward or random order), empty slabs are returned and the buddy allocator has every frame
/// back. A failure names the seed and mode.
/// </summary>
public unsafe class KernelHeapRandomTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (string mode in new[] { "fast", "debug", "no-magazines" })
            for (int seed = 1; seed <= 4; seed++) yield return new object[] { seed, mode };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomSequence_AgreesWithTheModel(int seed, string mode)
    {
        try { Run(seed, mode); }
        catch (Exception e) { throw new Exception($"seed {seed}, mode {mode}: {e.Message}", e); }
    }

    private sealed class Model
    {
        public readonly Dictionary<ulong, (ulong Size, byte Fill)> Live = new();
        public readonly SortedSet<ulong> Starts = new();
        public readonly List<ulong> Order = new();

        public void Add(ulong p, ulong size, byte fill)
        {
            var below = Starts.GetViewBetween(0, p);
            if (below.Count > 0) Assert.True(below.Max + Live[below.Max].Size <= p, $"object at {p:x} overlaps the one at {below.Max:x}");
            var above = Starts.GetViewBetween(p, ulong.MaxValue);
            if (above.Count > 0) Assert.True(p + size <= above.Min, $"object at {p:x} (+{size}) overlaps the one at {above.Min:x}");
            Live.Add(p, (size, fill));
            Starts.Add(p);
            Order.Add(p);
        }

        public void Remove(ulong p)
        {
            Live.Remove(p);
            Starts.Remove(p);
            Order.Remove(p);
        }
    }

    private static void Run(int seed, string mode)
    {
        HeapConfig cfg = mode switch
        {
            "debug" => HeapConfig.Debugging,
            "no-magazines" => new HeapConfig { Mode = HeapMode.Fast, KeepEmptySlabs = 1, MagazineCapacity = 0 },
            _ => HeapConfig.Default,
        };
        using var f = new HeapFixture(16384, cfg);
        ulong meta0 = f.Pages.MetadataPages;
        var rng = new Random(seed);
        var m = new Model();
        for (int step = 0; step < 12_000; step++)
        {
            int r = rng.Next(100);
            if (m.Live.Count == 0 || r < 45)
            {
                ulong size = DrawSize(rng);
                byte fill = (byte)rng.Next(1, 255);
                bool zero = rng.Next(10) == 0;
                Status s = zero ? f.H.Kzalloc(size, out void* p) : f.H.Kmalloc(size, out p);
                Assert.Equal(Status.Ok, s);
                if (zero) Assert.True(new Span<byte>(p, (int)size).IndexOfAnyExcept((byte)0) < 0, "kzalloc left a non-zero byte");
                new Span<byte>(p, (int)size).Fill(fill);
                m.Add((ulong)p, size, fill);
            }
            else if (r < 85)
            {
                ulong p = m.Order[rng.Next(m.Order.Count)];
                CheckObject(m, p);
                Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
                m.Remove(p);
            }
            else if (r < 98)
            {
                ulong p = m.Order[rng.Next(m.Order.Count)];
                var (old, fill) = m.Live[p];
                ulong size = DrawSize(rng);
                Assert.Equal(Status.Ok, f.H.Krealloc((void*)p, size, out void* q));
                Assert.True(new Span<byte>(q, (int)Math.Min(old, size)).IndexOfAnyExcept(fill) < 0, "krealloc lost the contents");
                m.Remove(p);
                byte nf = (byte)rng.Next(1, 255);
                new Span<byte>(q, (int)size).Fill(nf);
                m.Add((ulong)q, size, nf);
            }
            else
            {
                // A pointer inside a live object is refused and changes nothing.
                ulong p = m.Order[rng.Next(m.Order.Count)];
                if (m.Live[p].Size < 2) continue;
                ulong off = 1 + (ulong)rng.Next((int)Math.Min(m.Live[p].Size - 1, 4096));
                var before = HeapSnapshot.Take(f);
                Assert.NotEqual(Status.Ok, f.H.Kfree((void*)(p + off)));
                Assert.Equal(before, HeapSnapshot.Take(f));
            }
            if (step % 500 == 0) CheckAll(f, m);
        }
        CheckAll(f, m);

        List<ulong> order = (seed % 3) switch
        {
            0 => m.Order.ToList(),
            1 => Enumerable.Reverse(m.Order).ToList(),
            _ => m.Order.OrderBy(_ => rng.Next()).ToList(),
        };
        foreach (ulong p in order)
        {
            CheckObject(m, p);
            Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
            m.Remove(p);
        }
        CheckAll(f, m);
        f.H.Shrink();
        Assert.Equal(0UL, f.Pages.SlabPages);
        Assert.Equal(0UL, f.Pages.LargePages);
        Assert.Equal(0UL, f.Pages.Descriptors);
        // Every frame is back except the owner-table leaves grown on the way (kept for reuse).
        Assert.Equal(f.FreeAfterInit, f.Buddy->FreeFrames + (f.Pages.MetadataPages - meta0));
        if (cfg.Mode == HeapMode.Debug)
        {
            f.Pages.Debug->Totals(out ulong objects, out ulong bytes, out _);
            Assert.Equal(0UL, objects);
            Assert.Equal(0UL, bytes);
            Assert.Equal(0UL, f.Pages.Debug->EventTotal - f.Pages.Debug->Count(HeapEventKind.InvalidFree));
        }
        f.DestroyAndCheck();
    }

    // Mostly small (log-uniform 1..8192), sometimes large (up to 200,000 bytes).
    private static ulong DrawSize(Random rng)
    {
        if (rng.Next(100) < 8) return (ulong)rng.Next(8193, 200_000);
        int bits = rng.Next(0, 14);
        return (ulong)Math.Clamp(rng.Next(1 << bits, 2 << bits), 1, 8192);
    }

    private static void CheckObject(Model m, ulong p)
    {
        var (size, fill) = m.Live[p];
        Assert.True(new Span<byte>((void*)p, (int)size).IndexOfAnyExcept(fill) < 0, $"object at {p:x} ({size} bytes) was overwritten");
    }

    private static void CheckAll(HeapFixture f, Model m)
    {
        foreach (ulong p in m.Order) CheckObject(m, p);
        ulong small = 0, large = 0, largeBytes = 0;
        foreach (var (_, (size, _)) in m.Live)
        {
            if (size <= KmallocClasses.MaxSmall) small++;
            else { large++; largeBytes += size; }
        }
        ulong active = 0;
        for (int i = 0; i < KmallocClasses.Count; i++) active += f.H.Cache(i).ActiveObjects;
        Assert.Equal(small, active);
        Assert.Equal(large, f.Pages.LargeCount);
        Assert.Equal(largeBytes, f.Pages.LargeBytes);
        f.H.Validate();
    }
}
