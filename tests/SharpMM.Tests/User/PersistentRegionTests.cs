using System;
using System.Collections.Generic;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// The persistent region (Phantom's object space): snapshots written from a process's
/// store-backed region, reopened after a restart (a new machine over the same store bytes), and
/// crash consistency: a crash injected at every write of a snapshot, then a restart, finds
/// exactly the last complete snapshot.
/// </summary>
public abstract unsafe class PersistentRegionTests<TFormat> where TFormat : struct, IPagingFormat
{
    private const ulong RegionPages = 64;

    private static ulong ValueOf(int generation, ulong page) => (ulong)generation * 1_000_003UL + page * 7919UL + 1;

    // A machine whose region holds `generation` values in the pages of `touched`, mapped at the
    // returned address in the running space.
    private static (nint s, ulong va) MapRegion(UserFixture<TFormat> f, bool format)
    {
        f.AttachRegion(RegionPages, format);
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.MapStore(s, 0, RegionPages * 4096, 0, VmaProtection.ReadWrite, out ulong va));
        return ((nint)s, va);
    }

    private static void Fill(UserFixture<TFormat> f, ulong va, int generation, IEnumerable<ulong> pages)
    {
        foreach (ulong p in pages)
        {
            f.MustWrite(va + p * 4096, ValueOf(generation, p));
            f.MustWrite(va + p * 4096 + 4088, ValueOf(generation, p) ^ 0xFFFF);
        }
    }

    // Expects page p to hold generation gens[p]'s values (0: never written, zero).
    private static void Expect(UserFixture<TFormat> f, ulong va, int[] gens, string ctx)
    {
        for (ulong p = 0; p < RegionPages; p++)
        {
            ulong want = gens[p] == 0 ? 0 : ValueOf(gens[p], p);
            ulong got = f.MustRead(va + p * 4096);
            Assert.True(got == want, $"{ctx}: page {p} holds 0x{got:x}, expected generation {gens[p]} (0x{want:x})");
            Assert.True(f.MustRead(va + p * 4096 + 4088) == (gens[p] == 0 ? 0 : want ^ 0xFFFF), $"{ctx}: page {p} tail");
        }
    }

    // Expect: an empty region reads zero; written pages survive snapshot + restart; pages not
    // written since the last snapshot are not written again.
    [Fact]
    public void Snapshot_SurvivesARestart()
    {
        byte[] image;
        var gens = new int[RegionPages];
        using (var f = new UserFixture<TFormat>())
        {
            var (s, va) = MapRegion(f, format: true);
            Assert.Equal(0UL, f.MustRead(va + 5 * 4096));
            Fill(f, va, 1, new ulong[] { 0, 5, 63 });
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out ulong written));
            Assert.Equal(3UL, written);
            Fill(f, va, 2, new ulong[] { 5, 6 });
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out written));
            Assert.Equal(2UL, written);
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out written));
            Assert.Equal(0UL, written);
            Assert.Equal(4UL, f.M.Region->Generation);
            gens[0] = 1; gens[63] = 1; gens[5] = 2; gens[6] = 2;
            Fill(f, va, 3, new ulong[] { 7 }); // never snapshotted: lost at the restart
            image = f.StoreImage();
        }
        using (var g = new UserFixture<TFormat>(storeImage: image))
        {
            var (s, va) = MapRegion(g, format: false);
            Assert.Equal(4UL, g.M.Region->Generation);
            Expect(g, va, gens, "after restart");
            Assert.Equal(4, g.Count(FaultKind.StoreFill));
        }
    }

    // Expect: pages that left RAM (to swap) before a snapshot are saved from their slot; a page
    // that left RAM unchanged is not saved again.
    [Fact]
    public void Snapshot_SavesPagedOutPages()
    {
        byte[] image;
        var gens = new int[RegionPages];
        using (var f = new UserFixture<TFormat>())
        {
            var (s, va) = MapRegion(f, format: true);
            Fill(f, va, 1, new ulong[] { 1, 2, 3 });
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out _));
            Fill(f, va, 2, new ulong[] { 2 });
            f.MustRead(va + 3 * 4096);
            f.M.Reclaim(16, ref f.Arch);
            Assert.Equal(0UL, ((AddressSpace<TFormat>*)s)->ResidentPages);
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out ulong written));
            Assert.Equal(1UL, written); // page 2 changed; 1 and 3 did not
            gens[1] = 1; gens[2] = 2; gens[3] = 1;
            Expect(f, va, gens, "before restart");
            image = f.StoreImage();
        }
        using (var g = new UserFixture<TFormat>(storeImage: image))
        {
            var (s, va) = MapRegion(g, format: false);
            Expect(g, va, gens, "after restart");
        }
    }

    // The deterministic run up to the snapshot under test: snapshot 1 (generation 1 values in
    // pages 0..19), then changes: pages 10..29 get generation 2, some go out to swap, some
    // stay in RAM. Returns the space's region address.
    private static ulong Prepare(UserFixture<TFormat> f)
    {
        var (s, va) = MapRegion(f, format: true);
        var first = new List<ulong>();
        for (ulong p = 0; p < 20; p++) first.Add(p);
        Fill(f, va, 1, first);
        Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out _));
        var second = new List<ulong>();
        for (ulong p = 10; p < 30; p++) second.Add(p);
        Fill(f, va, 2, second);
        f.M.Reclaim(12, ref f.Arch);
        for (ulong p = 25; p < 28; p++) f.MustRead(va + p * 4096);
        return va;
    }

    //   snapshot 2 makes W store writes: the pages' in-progress copies, then the commit record
    //   crash at write k = 1 .. W + 1, the k-th write torn: 0 bytes, 16 bytes (part of the
    //   record's header) or 2048 bytes (all of a record's meaningful bytes) land; then restart
    // Expect: for k < W the region reopens at snapshot 1 exactly. At k = W (the record) it is
    // snapshot 1 unless the whole record landed, then snapshot 2 (every page was durable
    // before the record was written). For k = W + 1 (no crash) snapshot 2.
    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(2048)]
    public void CrashAtEveryWriteOfASnapshot_LeavesTheLastCompleteOne(int tearBytes)
    {
        var gen1 = new int[RegionPages];
        var gen2 = new int[RegionPages];
        for (int p = 0; p < 20; p++) gen1[p] = 1;
        for (int p = 0; p < 30; p++) gen2[p] = p < 10 ? 1 : 2;

        long total;
        using (var f = new UserFixture<TFormat>())
        {
            Prepare(f);
            long before = f.Control->Writes;
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out ulong written));
            total = f.Control->Writes - before;
            Assert.Equal(20UL, written);
            Assert.Equal(21L, total); // 20 pages, 1 commit record
        }
        for (long k = 1; k <= total + 1; k++)
        {
            byte[] image;
            using (var f = new UserFixture<TFormat>())
            {
                Prepare(f);
                f.Control->CrashAtWrite = f.Control->Writes + k;
                f.Control->TearBytes = tearBytes;
                Status st = f.M.Snapshot(ref f.Arch, out _);
                Assert.True(st == (k <= total ? Status.IoError : Status.Ok), $"crash at write {k}: snapshot gave {st}");
                image = f.StoreImage();
            }
            using (var g = new UserFixture<TFormat>(storeImage: image))
            {
                var (s, va) = MapRegion(g, format: false);
                bool second = k > total || (k == total && tearBytes >= 2048);
                string ctx = $"crash at write {k} of {total}, {tearBytes} bytes torn";
                Assert.True(g.M.Region->Generation == (second ? 3UL : 2UL), $"{ctx}: generation {g.M.Region->Generation}");
                Expect(g, va, second ? gen2 : gen1, ctx);
            }
        }
    }

    // Expect: a crash during the very first snapshot after formatting reopens as the empty region.
    [Fact]
    public void CrashDuringTheFirstSnapshot_ReopensEmpty()
    {
        byte[] image;
        using (var f = new UserFixture<TFormat>())
        {
            var (s, va) = MapRegion(f, format: true);
            Fill(f, va, 1, new ulong[] { 0, 1, 2 });
            f.Control->CrashAtWrite = f.Control->Writes + 4; // the commit record
            f.Control->TearBytes = 16;
            Assert.Equal(Status.IoError, f.M.Snapshot(ref f.Arch, out _));
            image = f.StoreImage();
        }
        using (var g = new UserFixture<TFormat>(storeImage: image))
        {
            var (s, va) = MapRegion(g, format: false);
            Expect(g, va, new int[RegionPages], "after the crash");
            Assert.Equal(1UL, g.M.Region->Generation);
        }
    }

    // Expect: an unformatted store does not open (Malformed); nor does one of another size.
    [Fact]
    public void Open_RefusesWhatWasNeverFormatted()
    {
        using var f = new UserFixture<TFormat>();
        var r = (PersistentRegion*)f.Alloc((ulong)sizeof(PersistentRegion));
        byte* meta = (byte*)f.Alloc(PersistentRegion.MetadataBytes(RegionPages));
        Assert.Equal(Status.Malformed, r->Open(ref f.M.Store, 0, RegionPages, meta));
        Assert.Equal(Status.Ok, r->Format(ref f.M.Store, 0, RegionPages, meta));
        Assert.Equal(Status.Malformed, r->Open(ref f.M.Store, 0, RegionPages - 1, meta));
        Assert.Equal(Status.Ok, r->Open(ref f.M.Store, 0, RegionPages, meta));
        Assert.Equal(Status.OutOfRange, r->Format(ref f.M.Store, 0, f.StoreSlots, meta));
    }

    // Expect: a forked child's writes to the region's pages never reach the owner's snapshot.
    [Fact]
    public void ChildWrites_DoNotReachTheSnapshot()
    {
        byte[] image;
        var gens = new int[RegionPages];
        using (var f = new UserFixture<TFormat>())
        {
            var (s, va) = MapRegion(f, format: true);
            Fill(f, va, 1, new ulong[] { 4 });
            var c = f.Blank();
            Assert.Equal(Status.Ok, f.M.Fork((AddressSpace<TFormat>*)s, c, ref f.Arch));
            f.Switch(c);
            Fill(f, va, 9, new ulong[] { 4, 5 });
            f.Switch((AddressSpace<TFormat>*)s);
            Assert.Equal(Status.Ok, f.M.Snapshot(ref f.Arch, out ulong written));
            Assert.Equal(1UL, written);
            gens[4] = 1;
            image = f.StoreImage();
        }
        using (var g = new UserFixture<TFormat>(storeImage: image))
        {
            var (s, va) = MapRegion(g, format: false);
            Expect(g, va, gens, "after restart");
        }
    }
}

public sealed class PersistentRegionTests64 : PersistentRegionTests<X86LongModeFormat> { }
public sealed class PersistentRegionTests32 : PersistentRegionTests<X86LegacyFormat> { }

/// <summary>
/// Seeded random runs of the persistent region's owner and its forked children under a resident
/// limit (pages leave RAM dirty and clean, come back, are copied on write), with snapshots at
/// random points; then a restart from the store bytes must show exactly the owner's region as
/// it was at the last snapshot. A page a space has not touched yet (in it or, before a fork,
/// in its parent) reads the region's last snapshot at its first touch: a child may see a
/// snapshot the owner took after the fork, as a MAP_PRIVATE file mapping may see later writes
/// to its file. The seed is in every message.
/// </summary>
public abstract unsafe class PersistentRegionRandomTests<TFormat> where TFormat : struct, IPagingFormat
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomRun_ThenRestart_ShowsTheLastSnapshot(int seed)
    {
        const ulong Pages = 48;
        var rng = new System.Random(seed);
        var saved = new ulong[Pages];
        byte[] image;
        ulong va;
        using (var f = new UserFixture<TFormat>())
        {
            f.AttachRegion(Pages, format: true);
            var owner = f.NewSpace();
            f.Switch(owner);
            Assert.Equal(Status.Ok, f.M.MapStore(owner, 0, Pages * 4096, 0, VmaProtection.ReadWrite, out va));
            f.M.ResidentLimit = 24;
            var model = new Dictionary<nint, ulong[]> { [(nint)owner] = new ulong[Pages] };
            var touched = new Dictionary<nint, bool[]> { [(nint)owner] = new bool[Pages] };
            var spaces = new List<nint> { (nint)owner };
            for (int step = 0; step < 1500; step++)
            {
                string ctx = $"seed {seed} step {step}";
                nint sp = spaces[rng.Next(spaces.Count)];
                var s = (AddressSpace<TFormat>*)sp;
                f.Switch(s);
                ulong page = (ulong)rng.Next((int)Pages);
                int op = rng.Next(100);
                if (op < 80 && !touched[sp][page])
                {
                    model[sp][page] = saved[page]; // first touch: the region's last snapshot
                    touched[sp][page] = true;
                }
                if (op < 45)
                {
                    ulong v = (ulong)rng.NextInt64() | 1;
                    f.MustWrite(va + page * 4096 + 8 * page, v);
                    model[sp][page] = v;
                }
                else if (op < 80)
                {
                    ulong got = f.MustRead(va + page * 4096 + 8 * page);
                    Assert.True(got == model[sp][page], $"{ctx}: page {page} reads 0x{got:x}, model 0x{model[sp][page]:x}");
                }
                else if (op < 85 && spaces.Count < 4)
                {
                    var c = f.Blank();
                    Assert.Equal(Status.Ok, f.M.Fork(s, c, ref f.Arch));
                    spaces.Add((nint)c);
                    model[(nint)c] = (ulong[])model[sp].Clone();
                    touched[(nint)c] = (bool[])touched[sp].Clone();
                }
                else if (op < 88 && sp != (nint)owner)
                {
                    f.Switch(null);
                    Assert.Equal(Status.Ok, f.M.Destroy(s, ref f.Arch));
                    spaces.Remove(sp);
                }
                else if (op < 94)
                {
                    f.M.Reclaim((ulong)rng.Next(1, 16), ref f.Arch);
                }
                else
                {
                    Assert.True(f.M.Snapshot(ref f.Arch, out _) == Status.Ok, $"{ctx}: snapshot");
                    model[(nint)owner].CopyTo(saved, 0);
                }
                if (step % 101 == 0) f.Validate(ctx);
            }
            Assert.True(f.M.Counters.PagesOut > 0 && f.M.Counters.PagesIn > 0, $"seed {seed}: expected paging");
            image = f.StoreImage();
        }
        using (var g = new UserFixture<TFormat>(storeImage: image))
        {
            g.AttachRegion(Pages, format: false);
            var s = g.NewSpace();
            g.Switch(s);
            Assert.Equal(Status.Ok, g.M.MapStore(s, 0, Pages * 4096, 0, VmaProtection.ReadWrite, out va));
            for (ulong p = 0; p < Pages; p++)
            {
                ulong got = g.MustRead(va + p * 4096 + 8 * p);
                Assert.True(got == saved[p], $"seed {seed}: after restart page {p} reads 0x{got:x}, last snapshot had 0x{saved[p]:x}");
            }
        }
    }
}

public sealed class PersistentRegionRandomTests64 : PersistentRegionRandomTests<X86LongModeFormat> { }
public sealed class PersistentRegionRandomTests32 : PersistentRegionRandomTests<X86LegacyFormat> { }
