using System;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Paging;
using Xunit;

namespace SharpMM.Tests.Paging;

/// <summary>
/// The tuned single-page Map and Unmap (Mapper.FastMapUnmap.cs) against the plain walks they
/// fall back to (MapByWalk, UnmapByWalk), on every format: two address spaces over two RAMs with
/// the same allocator receive the same seeded sequence of single-page calls, the first through
/// Map/Unmap, the second through the plain walks. The calls mix the common case with everything
/// the tuned path hands over: missing tables, large pages on the way, addresses inside a large
/// page, misaligned and non-canonical addresses, physical addresses beyond the format's reach,
/// entries already in use, unknown flags. After every call: the same status and the same flush
/// token; every 25 calls and at the end: the same leaves, the same tables at the same
/// physical addresses, the same free frames. Failures name the seed and the step.
/// </summary>
public abstract unsafe partial class MapperConformance<TFormat>
{
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(20261207)]
    public void FastMapAndUnmap_AgreeWithThePlainWalk(int seed)
    {
        using var plainRam = new TableRam(8192);
        var plainFrames = plainRam.Frames();
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(plainRam.Access, ref plainFrames, out var plain));
        Assert.Equal(Ram.Free, plainRam.Free);
        Assert.Equal(M.RootPhys, plain.RootPhys);

        var rng = new Random(seed);
        var sizes = Sizes().ToArray();
        ulong lo = Boundary - 8 * S1, pages = 16 * S1 / PageSize.Bytes;
        ulong RandomPage() => lo + (ulong)rng.NextInt64(0, (long)pages) * PageSize.Bytes;
        int fastOk = 0, plainOnly = 0;
        for (int step = 0; step < 1500; step++)
        {
            string ctx = $"seed {seed}, step {step}";
            MappingSize size = rng.Next(8) == 0 ? MappingSize.Size4KiB + 1 : sizes[rng.Next(4) == 0 ? rng.Next(sizes.Length) : 0];
            ulong span = 1UL << (int)size;
            ulong va = RandomPage() & ~(rng.Next(3) == 0 ? 0 : span - 1);
            if (rng.Next(40) == 0) va = NonCanonical;
            if (rng.Next(40) == 0) va += 8; // misaligned
            Status fast, slow;
            FlushToken fastToken, slowToken;
            if (rng.Next(5) < 3)
            {
                ulong pa = (ulong)rng.Next(1, 1 << 10) * span;
                if (rng.Next(40) == 0) pa = TFormat.LeafPhysLimit(0);    // beyond what the format reaches
                if (rng.Next(40) == 0) pa += PageSize.Bytes;             // misaligned for a large page
                var flags = (PageFlags)rng.Next(0, rng.Next(30) == 0 ? 1024 : 256);
                fast = M.Map(VirtAddr.NewUnchecked(va), PhysAddr.NewUnchecked(pa), size, flags, ref Frames, out fastToken);
                slow = PlainMap(ref plain, va, pa, size, flags, ref plainFrames, out slowToken);
            }
            else
            {
                fast = M.Unmap(VirtAddr.NewUnchecked(va), ref Frames, out fastToken);
                SinglePageResult r = plain.UnmapByWalk(va, ref plainFrames);
                slow = r.Status;
                slowToken = new FlushToken(va, r.Kinds);
            }
            Assert.True(fast == slow, $"{ctx}: 0x{va:x} {size}: tuned {fast}, plain {slow}");
            AssertSameToken(fastToken, slowToken, ctx);
            if (fast == Status.Ok && size == MappingSize.Size4KiB) fastOk++; else plainOnly++;
            if (step % 25 == 24 || step == 1499) AssertSameTables(plain, plainRam, ctx);
        }
        // The sequence exercised both sides.
        Assert.True(fastOk > 100 && plainOnly > 100, $"seed {seed}: {fastOk} common, {plainOnly} other calls");
    }

    // Map's argument checks, then the plain walk, and the token Map makes from its result.
    private static Status PlainMap<TFrames>(ref Mapper<TFormat, DirectMapTableAccess> m, ulong va, ulong pa, MappingSize size, PageFlags flags,
        ref TFrames frames, out FlushToken token) where TFrames : struct, SharpMM.Physical.IFrameAllocator
    {
        token = default;
        if (!Mapper<TFormat, DirectMapTableAccess>.TryGetLevel(size, out int level) || (flags & ~Mapper<TFormat, DirectMapTableAccess>.AllFlags) != 0)
            return Status.InvalidArgument;
        SinglePageResult r = m.MapByWalk(va, pa, level, flags, ref frames, ref frames);
        if (TFormat.NewMappingNeedsFlush && r.Status == Status.Ok) token = new FlushToken(va, r.Kinds);
        else if ((r.Kinds & FlushToken.Kind.Page) != 0) token = new FlushToken(va, r.Kinds);
        else if (r.Kinds != 0) token = new FlushToken(0, r.Kinds);
        return r.Status;
    }

    private static void AssertSameToken(FlushToken fast, FlushToken slow, string ctx)
    {
        Assert.True(fast.IsEmpty == slow.IsEmpty && fast.HasPage == slow.HasPage && fast.IsGlobal == slow.IsGlobal
            && fast.NeedsFullFlush == slow.NeedsFullFlush && fast.NeedsRootReload == slow.NeedsRootReload
            && (!fast.HasPage || fast.VirtualAddress == slow.VirtualAddress),
            $"{ctx}: tokens differ: tuned {fast.Kinds} 0x{fast.VirtualAddress:x}, plain {slow.Kinds} 0x{slow.VirtualAddress:x}");
    }

    private void AssertSameTables(Mapper<TFormat, DirectMapTableAccess> plain, TableRam plainRam, string ctx)
    {
        var fast = LeafList.New();
        M.Visit(ref fast);
        var slow = LeafList.New();
        plain.Visit(ref slow);
        Assert.True(fast.Tables.SequenceEqual(slow.Tables), $"{ctx}: the tables differ");
        Assert.True(fast.Leaves.Select(l => (l.Start.Value, l.Phys.Value, l.Size, l.Entry))
            .SequenceEqual(slow.Leaves.Select(l => (l.Start.Value, l.Phys.Value, l.Size, l.Entry))), $"{ctx}: the leaves differ");
        Assert.True(Ram.Free == plainRam.Free, $"{ctx}: free frames {Ram.Free} (tuned) and {plainRam.Free} (plain)");
        // The occupancy counts kept in pointer entries agree too: compare every table byte.
        foreach (var (_, _, phys) in fast.Tables)
            Assert.True(new ReadOnlySpan<byte>(Ram.Ptr(phys), (int)PageSize.Bytes).SequenceEqual(new ReadOnlySpan<byte>(plainRam.Ptr(phys), (int)PageSize.Bytes)),
                $"{ctx}: the table at 0x{phys:x} differs");
        Assert.True(new ReadOnlySpan<byte>(Ram.Ptr(M.RootPhys), (int)PageSize.Bytes).SequenceEqual(new ReadOnlySpan<byte>(plainRam.Ptr(plain.RootPhys), (int)PageSize.Bytes)),
            $"{ctx}: the root tables differ");
    }
}
