using System;
using System.Collections.Generic;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>The region set: merge on insert, split on remove and protect, capacity, and seeded
/// random sequences against a page-by-page model.</summary>
public class VmaSetTests
{
    private const ulong P = 4096;

    // An anonymous region as mmap makes it: its offset is its start in pages, so neighbours made
    // side by side continue each other.
    private static Vma Anon(ulong start, ulong end, VmaProtection prot = VmaProtection.ReadWrite) =>
        new() { Start = start, End = end, Limit = start, Offset = start / P, Protection = prot, Kind = VmaKind.Anonymous };

    //   [0x10000, 0x12000) + [0x12000, 0x14000) + [0x14000, 0x16000), same rights
    // Expect: one region [0x10000, 0x16000); a read-only neighbour stays apart.
    [Fact]
    public void Insert_MergesNeighbours()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(Anon(0x10000, 0x12000)));
        Assert.Equal(Status.Ok, s.Insert(Anon(0x14000, 0x16000)));
        Assert.Equal(2, s.Count);
        Assert.Equal(Status.Ok, s.Insert(Anon(0x12000, 0x14000)));
        Assert.Equal(1, s.Count);
        Assert.Equal(0x16000UL, s[0].End);
        Assert.Equal(Status.Ok, s.Insert(Anon(0x16000, 0x17000, VmaProtection.Read)));
        Assert.Equal(2, s.Count);
        Assert.Equal(Status.Overlap, s.Insert(Anon(0x15000, 0x18000)));
        s.Validate();
    }

    //   [ 0x10000 ................ 0x20000 )  remove [0x14000, 0x15000)
    // Expect: [0x10000, 0x14000) and [0x15000, 0x20000); store offsets follow the split.
    [Fact]
    public void Remove_SplitsAndCarriesOffsets()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(new Vma { Start = 0x10000, End = 0x20000, Limit = 0x10000, Offset = 7, Protection = VmaProtection.Read, Kind = VmaKind.StoreBacked }));
        Assert.Equal(Status.Ok, s.Remove(0x14000, 0x15000));
        Assert.Equal(2, s.Count);
        Assert.Equal(0x14000UL, s[0].End);
        Assert.Equal(0x15000UL, s[1].Start);
        Assert.Equal(7UL + 5, s[1].Offset);
        Assert.Equal(Status.Ok, s.Insert(new Vma { Start = 0x14000, End = 0x15000, Limit = 0x14000, Offset = 11, Protection = VmaProtection.Read, Kind = VmaKind.StoreBacked }));
        Assert.Equal(1, s.Count); // offsets continue: merged back
        Assert.Equal(-1, s.Find(0x20000));
        s.Validate();
    }

    // Expect: protect of a middle part splits into three, and protecting it back merges to one.
    [Fact]
    public void Protect_SplitsThenMerges()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(Anon(0x10000, 0x20000)));
        Assert.Equal(Status.Ok, s.Protect(0x12000, 0x13000, VmaProtection.Read));
        Assert.Equal(3, s.Count);
        Assert.Equal(Status.Ok, s.Protect(0x12000, 0x13000, VmaProtection.ReadWrite));
        Assert.Equal(1, s.Count);
        Assert.Equal(Status.NotMapped, s.Protect(0x1F000, 0x21000, VmaProtection.Read));
        s.Validate();
    }

    // Expect: a full set refuses a split with NoSpace and is unchanged; merging inserts still work.
    [Fact]
    public void Full_RefusesSplits()
    {
        var s = new VmaSet();
        //   64 regions [base + 4i pages, base + 4i + 3 pages), rights alternating
        for (ulong i = 0; i < VmaSet.Capacity; i++)
            Assert.Equal(Status.Ok, s.Insert(Anon(0x100000 + i * 4 * P, 0x100000 + i * 4 * P + 3 * P, i % 2 == 0 ? VmaProtection.Read : VmaProtection.ReadWrite)));
        Assert.Equal(Status.NoSpace, s.Insert(Anon(0x10000, 0x11000)));
        Assert.True(s.RemoveSplits(0x100000 + P, 0x100000 + 2 * P));
        Assert.Equal(Status.NoSpace, s.Remove(0x100000 + P, 0x100000 + 2 * P));
        Assert.Equal(Status.NoSpace, s.Protect(0x100000 + P, 0x100000 + 2 * P, VmaProtection.ReadWrite));
        Assert.Equal(Status.Ok, s.Remove(0x100000, 0x100000 + P)); // trims, no split
        Assert.Equal(VmaSet.Capacity, s.Count);
        Assert.Equal(Status.Ok, s.Insert(Anon(0x100000 + 3 * P, 0x100000 + 4 * P, VmaProtection.Read))); // merges
        s.Validate();
    }

    private static Vma Owned(ulong start, ulong end, ulong owner, bool forked = false)
    {
        Vma v = Anon(start, end);
        v.Identity = owner;
        v.ForkedIdentity = forked;
        return v;
    }

    //   [0x10000, 0x12000) owner 1 | [0x12000, 0x14000) owner 2      (written separately)
    // Expect: two regions (Linux keeps pages of different anon_vmas apart); a neighbour never
    // written joins either, and the merged region takes the owner of the written part.
    [Fact]
    public void Insert_KeepsRegionsWithDifferentOwnersApart()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(Owned(0x10000, 0x12000, 1)));
        Assert.Equal(Status.Ok, s.Insert(Owned(0x12000, 0x14000, 2)));
        Assert.Equal(2, s.Count);
        Assert.Equal(Status.Ok, s.Insert(Anon(0x14000, 0x15000)));
        Assert.Equal(2, s.Count);
        Assert.Equal(0x15000UL, s[1].End);
        Assert.Equal(2UL, s[1].Identity);
        Assert.Equal(Status.Ok, s.Insert(Anon(0xF000, 0x10000)));
        Assert.Equal(2, s.Count);
        Assert.Equal(0xF000UL, s[0].Start);
        Assert.Equal(0xFUL, s[0].Offset);
        Assert.Equal(1UL, s[0].Identity);
        s.Validate();
    }

    //   [A owner 1][ gap ][B owner 2]: the gap filled by a region never written
    // Expect: it joins the left one only (as Linux: prev and next must be compatible with each
    // other too), so A+gap and B stay two regions.
    [Fact]
    public void Insert_BetweenTwoOwners_JoinsTheLeftOne()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(Owned(0x10000, 0x12000, 1)));
        Assert.Equal(Status.Ok, s.Insert(Owned(0x13000, 0x14000, 2)));
        Assert.Equal(Status.Ok, s.Insert(Anon(0x12000, 0x13000)));
        Assert.Equal(2, s.Count);
        Assert.Equal(0x13000UL, s[0].End);
        Assert.Equal(1UL, s[0].Identity);
        Assert.Equal(2UL, s[1].Identity);
        s.Validate();
    }

    // Expect: a fork's copy (owner marked forked) merges with no neighbour never written, and
    // with parts of itself (same owner) only; an owner of its own merges with one never written.
    [Fact]
    public void ForkedOwner_MergesOnlyWithItsOwnParts()
    {
        Assert.False(Owned(0x10000, 0x11000, 5, forked: true).CanMergeWith(Anon(0x11000, 0x12000)));
        Assert.False(Anon(0xF000, 0x10000).CanMergeWith(Owned(0x10000, 0x11000, 5, forked: true)));
        Assert.True(Owned(0x10000, 0x11000, 5, forked: true).CanMergeWith(Owned(0x11000, 0x12000, 5, forked: true)));
        Assert.True(Owned(0x10000, 0x11000, 5).CanMergeWith(Anon(0x11000, 0x12000)));
        Assert.False(Owned(0x10000, 0x11000, 5).CanMergeWith(Owned(0x11000, 0x12000, 6)));
    }

    // Expect: anonymous neighbours whose offsets do not continue (one was moved by mremap and
    // kept its offset) stay apart; shared regions merge only within one shared object.
    [Fact]
    public void OffsetsAndSharedObjects_MustContinue()
    {
        Vma moved = Anon(0x10000, 0x11000);
        moved.Offset = 0x50;
        Assert.False(moved.CanMergeWith(Anon(0x11000, 0x12000)));
        Assert.False(Anon(0xF000, 0x10000).CanMergeWith(moved));

        Vma Shared(ulong start, ulong end, ulong obj, ulong offset) =>
            new() { Start = start, End = end, Limit = start, Offset = offset, Identity = obj, Protection = VmaProtection.ReadWrite, Kind = VmaKind.Shared };
        Assert.True(Shared(0x10000, 0x11000, 7, 0).CanMergeWith(Shared(0x11000, 0x12000, 7, 1)));
        Assert.False(Shared(0x10000, 0x11000, 7, 0).CanMergeWith(Shared(0x11000, 0x12000, 8, 1)));
        Assert.False(Shared(0x10000, 0x11000, 7, 0).CanMergeWith(Shared(0x11000, 0x12000, 7, 0)));
    }

    // Expect: protecting a part of a written region and back merges it again (the parts share
    // the owner, and their offsets continue).
    [Fact]
    public void Protect_SplitPartsOfOneOwner_MergeBack()
    {
        var s = new VmaSet();
        Assert.Equal(Status.Ok, s.Insert(Owned(0x10000, 0x20000, 3)));
        Assert.Equal(Status.Ok, s.Protect(0x12000, 0x13000, VmaProtection.Read));
        Assert.Equal(3, s.Count);
        Assert.Equal(3UL, s[2].Identity);
        Assert.Equal(0x13UL, s[2].Offset);   // the page index of its start, carried by the split
        Assert.Equal(Status.Ok, s.Protect(0x12000, 0x13000, VmaProtection.ReadWrite));
        Assert.Equal(1, s.Count);
        s.Validate();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_MatchesAPageModel(int seed)
    {
        var rng = new Random(seed);
        var s = new VmaSet();
        var model = new Dictionary<ulong, VmaProtection>();
        const ulong Base = 0x400000;
        for (int step = 0; step < 5000; step++)
        {
            ulong a = Base + (ulong)rng.Next(200) * P, n = (ulong)rng.Next(1, 12);
            ulong b = a + n * P;
            var prot = (VmaProtection)rng.Next(0, 4);
            int op = rng.Next(3);
            Status st;
            if (op == 0)
            {
                bool free = true;
                for (ulong p = a; p < b; p += P) free &= !model.ContainsKey(p);
                st = s.Insert(Anon(a, b, prot));
                if (st == Status.Ok) for (ulong p = a; p < b; p += P) model[p] = prot;
                else Assert.True(st == Status.NoSpace || (!free && st == Status.Overlap), $"seed {seed} step {step}: insert gave {st}");
            }
            else if (op == 1)
            {
                st = s.Remove(a, b);
                if (st == Status.Ok) for (ulong p = a; p < b; p += P) model.Remove(p);
                else Assert.Equal(Status.NoSpace, st);
            }
            else
            {
                bool all = true;
                for (ulong p = a; p < b; p += P) all &= model.ContainsKey(p);
                st = s.Protect(a, b, prot);
                if (st == Status.Ok) for (ulong p = a; p < b; p += P) model[p] = prot;
                else Assert.True(st == Status.NoSpace || (!all && st == Status.NotMapped), $"seed {seed} step {step}: protect gave {st}");
            }
            s.Validate();
            for (ulong p = Base; p < Base + 220 * P; p += P)
            {
                int i = s.Find(p);
                bool has = model.TryGetValue(p, out VmaProtection mp);
                Assert.True((i >= 0) == has, $"seed {seed} step {step}: page 0x{p:x} mapped {i >= 0}, model {has}");
                if (has) Assert.True(s[i].Protection == mp, $"seed {seed} step {step}: page 0x{p:x} rights {s[i].Protection}, model {mp}");
            }
        }
    }
}
