using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Physical;

/// <summary>
/// The bitmap allocator's word-at-a-time search with its summary levels, against plain
/// bit-by-bit reference models on seeded random bitmaps.
/// </summary>
public unsafe class BitmapSearchTests
{
    // A bitmap of n bits (set = used) with its summary levels, bits past n set.
    private sealed class Leveled : IDisposable
    {
        public readonly ulong N, Words;
        public readonly ulong* Bits, Full1, Full2;
        private readonly ulong _words1, _words2;

        public Leveled(ulong n)
        {
            N = n;
            Words = (n + 63) / 64;
            _words1 = BitmapOps.SummaryWords(Words);
            _words2 = BitmapOps.SummaryWords(_words1);
            Bits = (ulong*)NativeMemory.Alloc((nuint)(Words * 8));
            Full1 = (ulong*)NativeMemory.Alloc((nuint)(_words1 * 8));
            Full2 = (ulong*)NativeMemory.Alloc((nuint)(_words2 * 8));
            for (ulong i = 0; i < Words; i++) Bits[i] = ~0UL;
            for (ulong i = 0; i < _words1; i++) Full1[i] = ~0UL;
            for (ulong i = 0; i < _words2; i++) Full2[i] = ~0UL;
        }

        public bool Used(ulong i) => BitmapOps.Test(Bits, i);

        public void Assign(ulong i, ulong count, bool used)
        {
            BitmapOps.Assign(Bits, i, count, used);
            for (ulong w = i >> 6; w <= (i + count - 1) >> 6; w++) BitmapOps.Summarize(Bits, Full1, Full2, w);
        }

        // Clears `clearBits` random bits and then re-sets some runs, leaving long full stretches.
        public void Randomize(Random rng, double freeShare, int fullStretches)
        {
            Assign(0, N, false);
            for (ulong i = 0; i < N; i++) if (rng.NextDouble() >= freeShare) Assign(i, 1, true);
            for (int k = 0; k < fullStretches; k++)
            {
                ulong at = (ulong)rng.NextInt64((long)N), len = Math.Min(N - at, (ulong)rng.NextInt64(1, 300_000));
                Assign(at, len, true);
            }
        }

        public void Dispose()
        {
            NativeMemory.Free(Bits);
            NativeMemory.Free(Full1);
            NativeMemory.Free(Full2);
        }
    }

    private static ulong NaiveRunStarts(ulong x, ulong y, ulong count)
    {
        ulong r = 0;
        for (int b = 0; b < 64; b++)
        {
            bool all = true;
            for (int j = 0; j < (int)count && all; j++)
            {
                int at = b + j;
                all = at < 64 ? ((x >> at) & 1) != 0 : at < 128 && ((y >> (at - 64)) & 1) != 0;
            }
            if (all) r |= 1UL << b;
        }
        return r;
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void RunStarts_AreTheBitsFromWhichCountBitsOfBothWordsAreSet(int seed)
    {
        var rng = new Random(seed);
        for (int t = 0; t < 3000; t++)
        {
            // Dense words, so that long runs occur: the AND of a few random words, inverted.
            ulong x = ~((ulong)rng.NextInt64() & (ulong)rng.NextInt64() & (ulong)rng.NextInt64() & (ulong)rng.NextInt64());
            ulong y = ~((ulong)rng.NextInt64() & (ulong)rng.NextInt64() & (ulong)rng.NextInt64());
            if (t % 7 == 0) x = ~0UL;
            if (t % 11 == 0) y = ~0UL;
            ulong count = (ulong)rng.Next(1, 65);
            ulong want = NaiveRunStarts(x, y, count), got = BitmapOps.RunStarts(x, y, count);
            Assert.True(want == got, $"seed={seed} x={x:x} y={y:x} count={count}: want {want:x}, got {got:x}");
        }
    }

    [Theory]
    [InlineData(21, 5000UL, 0.01)]
    [InlineData(22, 300_001UL, 0.0005)]   // more than 4096 words: the second summary level is used
    [InlineData(23, 70_000UL, 0.0)]       // nothing clear
    public void NextClear_FindsTheFirstClearBitAtOrAfter(int seed, ulong n, double freeShare)
    {
        var rng = new Random(seed);
        using var b = new Leveled(n);
        b.Randomize(rng, freeShare, 3);
        var clear = new List<ulong>();
        for (ulong i = 0; i < n; i++) if (!b.Used(i)) clear.Add(i);
        for (int t = 0; t < 2000; t++)
        {
            ulong from = (ulong)rng.NextInt64((long)n + 70);
            int k = clear.BinarySearch(from);
            if (k < 0) k = ~k;
            ulong want = k < clear.Count ? clear[k] : BitmapOps.NotFound;
            ulong got = BitmapOps.NextClear(b.Bits, b.Full1, b.Full2, b.Words, from);
            Assert.True(want == got, $"seed={seed} from={from}: want {want}, got {got}");
        }
    }

    // The documented order: candidates phase + k*align from the hint up, then from the start.
    private static bool NaiveFind(Leveled b, ulong count, ulong align, ulong phase, ulong hint, out ulong index)
    {
        index = 0;
        if (count > b.N) return false;
        bool Clear(ulong c) { for (ulong i = c; i < c + count; i++) if (b.Used(i)) return false; return true; }
        for (ulong c = phase + ((hint + align - 1) & ~(align - 1)); c + count <= b.N; c += align) if (Clear(c)) { index = c; return true; }
        ulong limit = Math.Min(phase + hint + count, b.N);
        for (ulong c = phase; c + count <= limit; c += align) if (Clear(c)) { index = c; return true; }
        return false;
    }

    [Theory]
    [InlineData(31, 4000UL, 0.3)]
    [InlineData(32, 4000UL, 0.9)]
    [InlineData(33, 300_001UL, 0.002)]
    [InlineData(34, 20_000UL, 0.6)]
    public void FindClearRun_ReturnsTheSameRunAsABitByBitScan(int seed, ulong n, double freeShare)
    {
        var rng = new Random(seed);
        using var b = new Leveled(n);
        for (int round = 0; round < 6; round++)
        {
            b.Randomize(rng, freeShare, round);
            for (int t = 0; t < 150; t++)
            {
                ulong align = 1UL << rng.Next(0, 11);
                ulong count = rng.Next(4) switch { 0 => align, 1 => (ulong)rng.Next(1, 65), 2 => (ulong)rng.Next(1, 8), _ => (ulong)rng.Next(1, 300) };
                ulong phase = (ulong)rng.NextInt64((long)align);
                ulong hint = (ulong)rng.NextInt64((long)n);
                bool want = NaiveFind(b, count, align, phase, hint, out ulong wantIndex);
                bool got = BitmapOps.FindClearRun(b.Bits, b.Full1, b.Full2, n, count, align, phase, hint, out ulong gotIndex);
                Assert.True(want == got && (!want || wantIndex == gotIndex),
                    $"seed={seed} round={round} count={count} align={align} phase={phase} hint={hint}: want {want}/{wantIndex}, got {got}/{gotIndex}");
            }
        }
    }

    /// <summary>
    /// Runs of any length and alignment on a machine whose start is not aligned, against a
    /// model of which frame belongs to which run: every run handed out is free in the model and
    /// aligned, out of memory only when the model has no such run, a wrong-length free is
    /// refused, and the allocator validates.
    /// </summary>
    [Theory]
    [InlineData(41, 300_000UL)]
    [InlineData(42, 5_000UL)]
    public void AllocateRunAndFreeRun_MatchAModel(int seed, ulong frames)
    {
        const ulong start = 0x1234; // not aligned to anything above 4 frames
        var rng = new Random(seed);
        using var meta = new HostMemory(BitmapFrameAllocator.MetadataWords(frames) * 8 + 4096);
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        var a = (BitmapFrameAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BitmapFrameAllocator));
        try
        {
            Assert.Equal(Status.Ok, a->Init(ref md, PhysRange.FromFrames(Pfn.New(start), Pfn.New(start + frames))));
            // A hole never handed over, in the middle.
            ulong holeLo = start + frames / 3, holeHi = holeLo + 1000;
            a->AddFreeRange(Pfn.New(start), Pfn.New(holeLo));
            a->AddFreeRange(Pfn.New(holeHi), Pfn.New(start + frames));
            var owned = new bool[frames];
            for (ulong f = holeLo; f < holeHi; f++) owned[f - start] = true;
            var live = new List<(ulong pfn, ulong count)>();
            bool ModelHasRun(ulong count, ulong align)
            {
                for (ulong c = (start + align - 1) & ~(align - 1); c + count <= start + frames; c += align)
                {
                    bool clear = true;
                    for (ulong i = 0; i < count && clear; i++) clear = !owned[c - start + i];
                    if (clear) return true;
                }
                return false;
            }
            int steps = frames > 100_000 ? 3000 : 6000;
            for (int step = 0; step < steps; step++)
            {
                string ctx = $"seed={seed} step={step}";
                if (live.Count == 0 || rng.Next(100) < 60)
                {
                    ulong align = 1UL << rng.Next(0, 10);
                    ulong count = rng.Next(3) == 0 ? (ulong)rng.Next(1, 2000) : Math.Max(1, align >> rng.Next(0, 2));
                    Status s = a->AllocateRun(count, align, out Pfn p);
                    if (s == Status.OutOfMemory) { Assert.False(ModelHasRun(count, align), $"{ctx}: out of memory for {count}/{align} with such a run free"); continue; }
                    Assert.True(s == Status.Ok, $"{ctx}: {s}");
                    Assert.True(p.Value % align == 0, $"{ctx}: {p.Value} not aligned to {align}");
                    Assert.True(p.Value >= start && p.Value + count <= start + frames, $"{ctx}: run outside the machine");
                    for (ulong i = 0; i < count; i++)
                    {
                        Assert.False(owned[p.Value - start + i], $"{ctx}: frame {p.Value + i} handed out twice");
                        owned[p.Value - start + i] = true;
                    }
                    live.Add((p.Value, count));
                }
                else
                {
                    int k = rng.Next(live.Count);
                    var (pfn, count) = live[k];
                    live[k] = live[^1];
                    live.RemoveAt(live.Count - 1);
                    if (count > 1) Assert.True(a->FreeRun(Pfn.New(pfn), count - 1) != Status.Ok, $"{ctx}: a shorter free accepted");
                    Assert.True(a->FreeRun(Pfn.New(pfn), count) == Status.Ok, $"{ctx}: free of {pfn}/{count} refused");
                    for (ulong i = 0; i < count; i++) owned[pfn - start + i] = false;
                }
                if (step % 500 == 0) a->Validate();
            }
            ulong ownedCount = 0;
            foreach (bool o in owned) if (o) ownedCount++;
            Assert.Equal(frames - ownedCount, a->FreeFrames);
            a->Validate();
            foreach (var (pfn, count) in live) Assert.Equal(Status.Ok, a->FreeRun(Pfn.New(pfn), count));
            Assert.Equal(frames - 1000, a->FreeFrames);
            a->Validate();
        }
        finally { NativeMemory.Free(a); }
    }
}
