using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.RiscV;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>
/// The recursive self-map accessor, run hosted: its table pointers are virtual addresses, which
/// <see cref="SoftWalkWindow{TFormat}"/> resolves by walking the real table bytes from the root,
/// exactly as the MMU would (the self-map included). Checks the address formula against the
/// classic constants, the loop check, and that a mapper working through the recursive window
/// sees and builds the same tables as one working through the direct map.
/// </summary>
public sealed unsafe class RecursiveAccessTests
{
    [Fact]
    public void TableAddresses_MatchTheClassicLayouts()
    {
        // 32-bit, slot 1023: the directory at 0xFFFFF000, table i at 0xFFC00000 + 4096 * i.
        Assert.Equal(0xFFFF_F000UL, RecursiveTableAccess<X86LegacyFormat, SoftWalkWindow<X86LegacyFormat>>.TableVirtualAddress(1023, 1, 0x1234_5678));
        for (ulong va = 0; va < 1UL << 32; va += 0x0123_4567)
            Assert.Equal(0xFFC0_0000UL + 4096 * (va >> 22), RecursiveTableAccess<X86LegacyFormat, SoftWalkWindow<X86LegacyFormat>>.TableVirtualAddress(1023, 0, va));

        // x86-64, slot 510: window at 0xFFFFFF0000000000.
        const ulong w = 0xFFFF_FF00_0000_0000;
        Assert.Equal(0xFFFF_FF7F_BFDF_E000UL, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.TableVirtualAddress(510, 3, 0));
        foreach (ulong va in new ulong[] { 0, 0x0000_7F12_3456_7000, 0xFFFF_8880_0020_1000, 0xFFFF_FFFF_FFFF_F000 })
        {
            Assert.Equal(w + ((va >> 9) & 0x7F_FFFF_F000), RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.TableVirtualAddress(510, 0, va));
            Assert.Equal(w + (510UL << 30) + ((va >> 18) & 0x3FFF_F000), RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.TableVirtualAddress(510, 1, va));
            Assert.Equal(w + (510UL << 30) + (510UL << 21) + ((va >> 27) & 0x1F_F000), RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.TableVirtualAddress(510, 2, va));
        }
    }

    [Fact]
    public void LoopCheck_RefusesEverythingButASelfPointer()
    {
        using var ram = new TableRam(1024);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var direct));
        ulong root = direct.RootPhys;
        byte* r = ram.Ptr(root);
        var window = SoftWalkWindow<X86LongModeFormat>.New(ram.Dm, root);
        Assert.Equal(Status.InvalidArgument, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(r, root, 512, window, out _));
        Assert.Equal(Status.NotMapped, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(r, root, 510, window, out _));
        X86LongModeFormat.Write(r, 510, X86LongModeFormat.MakeTable(3, 0x9000)); // points elsewhere
        Assert.Equal(Status.InvalidArgument, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(r, root, 510, window, out _));
        X86LongModeFormat.Write(r, 510, root | 0x1); // present, read-only
        Assert.Equal(Status.InvalidArgument, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(r, root, 510, window, out _));
        X86LongModeFormat.Write(r, 510, 0);
        Assert.Equal(Status.Ok, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.InstallLoop(r, root, 510));
        Assert.Equal(Status.AlreadyMapped, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.InstallLoop(r, root, 510));
        ulong e = X86LongModeFormat.Read(r, 510);
        Assert.Equal(root | 0x3 | (1UL << 63), e); // P | RW, supervisor only, not executable
        Assert.Equal(Status.Ok, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(r, root, 510, window, out var a));
        Assert.Equal(0xFFFF_FF00_0000_0000UL, a.WindowStart);
        Assert.Equal(0xFFFF_FF7F_FFFF_FFFFUL, a.WindowLast);

        // 32-bit: a 4 MiB page in the slot is a leaf, not a loop.
        using var ram32 = new TableRam(1024);
        var f32 = ram32.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LegacyFormat, DirectMapTableAccess>.Create(ram32.Access, ref f32, out var d32));
        byte* r32 = ram32.Ptr(d32.RootPhys);
        X86LegacyFormat.Write(r32, 1023, X86LegacyFormat.MakeLeaf(1, 0, PageFlags.Writable));
        var w32 = SoftWalkWindow<X86LegacyFormat>.New(ram32.Dm, d32.RootPhys);
        Assert.Equal(Status.ParentIsHugePage, RecursiveTableAccess<X86LegacyFormat, SoftWalkWindow<X86LegacyFormat>>.Create(r32, d32.RootPhys, 1023, w32, out _));

        // Formats without a usable self-map.
        Assert.Equal(Status.Unsupported, RecursiveTableAccess<X86PaeFormat, SoftWalkWindow<X86PaeFormat>>.Create(r, root, 3, default, out _));
        Assert.Equal(Status.Unsupported, RecursiveTableAccess<Sv39Format, SoftWalkWindow<Sv39Format>>.InstallLoop(r, root, 3));
    }

    [Fact]
    public void RecursiveWalk_EqualsDirectWalk_32Bit() => WalksAgree<X86LegacyFormat>(1023, 0x0040_0000, 0x1000_0000);

    [Fact]
    public void RecursiveWalk_EqualsDirectWalk_4Level() => WalksAgree<X86LongModeFormat>(510, 0xFFFF_8880_0000_0000, 0x0000_7F00_0000_0000);

    private static void WalksAgree<TFormat>(int slot, ulong regionA, ulong regionB) where TFormat : struct, IPagingFormat
    {
        using var ram = new TableRam(8192);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var direct));
        var rng = new Random(17);
        var b = new FlushBatch();
        ulong s1 = 1UL << TFormat.IndexShift(1);
        foreach (ulong region in new[] { regionA, regionB })
            for (int i = 0; i < 30; i++)
            {
                ulong va = region + (ulong)rng.Next(0, 4096) * PageSize.Bytes;
                ulong bytes = (ulong)rng.Next(1, 3 * (int)(s1 / PageSize.Bytes)) * PageSize.Bytes;
                direct.MapRange(V(va), P(va - region + s1), bytes, (PageFlags)rng.Next(256), ref frames, ref b);
            }
        var before = LeafList.New();
        direct.Visit(ref before);
        Assert.Contains(before.Leaves, l => l.Size != MappingSize.Size4KiB);

        byte* root = ram.Ptr(direct.RootPhys);
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, SoftWalkWindow<TFormat>>.InstallLoop(root, direct.RootPhys, slot));
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, SoftWalkWindow<TFormat>>.Create(root, direct.RootPhys, slot,
            SoftWalkWindow<TFormat>.New(ram.Dm, direct.RootPhys), out var access));
        var rec = new Mapper<TFormat, RecursiveTableAccess<TFormat, SoftWalkWindow<TFormat>>>(direct.RootPhys, access);

        var after = LeafList.New();
        rec.Visit(ref after);
        Assert.Equal(before.Leaves.Select(l => (l.Start, l.Phys, l.Size, l.Flags, l.Entry)), after.Leaves.Select(l => (l.Start, l.Phys, l.Size, l.Flags, l.Entry)));
        Assert.Equal(before.Tables, after.Tables); // same tables in the same order; the window is skipped
        for (int i = 0; i < 2000; i++)
        {
            ulong va = (i % 2 == 0 ? regionA : regionB) + (ulong)rng.NextInt64(0, 4096 * 4096);
            Status sd = direct.Translate(V(va), out Translation td);
            Status sr = rec.Translate(V(va), out Translation tr);
            Assert.Equal(sd, sr);
            Assert.Equal(td.Phys, tr.Phys);
            Assert.Equal(td.Flags, tr.Flags);
            Assert.Equal(td.Size, tr.Size);
        }
        // The window itself translates to the tables, as the MMU would show it.
        ulong rootVa = RecursiveTableAccess<TFormat, SoftWalkWindow<TFormat>>.TableVirtualAddress(slot, TFormat.Levels - 1, 0);
        Assert.Equal(Status.Ok, rec.Translate(V(rootVa), out Translation t));
        Assert.Equal(direct.RootPhys, t.PageBase.Value);
        // ...and the mapper refuses to touch it.
        Assert.Equal(Status.InvalidArgument, rec.Map(V(rootVa), P(0x1000), MappingSize.Size4KiB, PageFlags.None, ref frames, out _));
        Assert.Equal(Status.InvalidArgument, rec.UnmapRange(V(rootVa), PageSize.Bytes, ref frames, ref b));
    }

    [Fact]
    public void MappingThroughTheWindow_32Bit() =>
        MapThroughWindow<X86LegacyFormat, SoftWalkWindow<X86LegacyFormat>>(1023, 0xFF80_0000, 0x1000_0000, (ram, root) => SoftWalkWindow<X86LegacyFormat>.New(ram.Dm, root));

    [Fact]
    public void MappingThroughTheWindow_4Level() =>
        MapThroughWindow<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>(510, 0xFFFF_FE00_0000_0000, 0xFFFF_8880_0000_0000, (ram, root) => SoftWalkWindow<X86LongModeFormat>.New(ram.Dm, root));

    [Fact]
    public void MappingThroughTheWindow_32Bit_UnderTheMmuModel() =>
        MapThroughWindow<X86LegacyFormat, MmuWindow>(1023, 0xFF80_0000, 0x1000_0000, (ram, root) => MmuWindow.Boot(ram, PagingMode.Bits32, root));

    [Fact]
    public void MappingThroughTheWindow_4Level_UnderTheMmuModel() =>
        MapThroughWindow<X86LongModeFormat, MmuWindow>(510, 0xFFFF_FE00_0000_0000, 0xFFFF_8880_0000_0000, (ram, root) => MmuWindow.Boot(ram, PagingMode.FourLevel, root));

    /// <summary>
    /// The kernel's situation: the address space is live, the mapper reaches tables only through
    /// the self-map, new tables are filled through a scratch page before they are linked, and
    /// large pages split. Results are checked against a reference model and against a mapper
    /// that walks the same tables through the direct map; every table frame comes back.
    /// </summary>
    private static void MapThroughWindow<TFormat, TWindow>(int slot, ulong scratchVa, ulong region, Func<TableRam, ulong, TWindow> makeWindow)
        where TFormat : struct, IPagingFormat where TWindow : struct, IRecordingWindow
    {
        using var ram = new TableRam(8192);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var direct));
        ulong rootPhys = direct.RootPhys;
        byte* root = ram.Ptr(rootPhys);
        // Boot set-up: the loop, and a page table for the scratch page (a neighbour keeps it alive).
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, SoftWalkWindow<TFormat>>.InstallLoop(root, rootPhys, slot));
        Assert.Equal(Status.Ok, direct.Map(V(scratchVa + PageSize.Bytes), P(0x7000), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out _));
        TWindow window = makeWindow(ram, rootPhys);
        Assert.Equal(Status.NotMapped, RecursiveTableAccess<TFormat, TWindow>.Create(root, rootPhys, slot, window, scratchVa - (1UL << TFormat.IndexShift(TFormat.Levels - 1)), out _));
        Assert.Equal(Status.AlreadyMapped, RecursiveTableAccess<TFormat, TWindow>.Create(root, rootPhys, slot, window, scratchVa + PageSize.Bytes, out _));
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, TWindow>.Create(root, rootPhys, slot, window, scratchVa, out var access));
        var rec = new Mapper<TFormat, RecursiveTableAccess<TFormat, TWindow>>(rootPhys, access);
        Assert.Equal(Status.InvalidArgument, rec.Map(V(scratchVa + 2 * PageSize.Bytes), P(0), MappingSize.Size4KiB, PageFlags.None, ref frames, out _));
        ulong free = ram.Free;

        var model = new Dictionary<ulong, (ulong, PageFlags)>();
        var rng = new Random(5);
        var b = new FlushBatch();
        var policy = FlushPolicy.Default;
        ulong s1 = 1UL << TFormat.IndexShift(1);
        for (int step = 0; step < 150; step++)
        {
            ulong va = region + (ulong)rng.Next(0, (int)(8 * s1 / PageSize.Bytes)) * PageSize.Bytes;
            ulong bytes = Math.Min((ulong)rng.Next(1, (int)(2 * s1 / PageSize.Bytes)) * PageSize.Bytes, region + 8 * s1 - va);
            var f = (PageFlags)rng.Next(256);
            switch (rng.Next(3))
            {
                case 0:
                    ulong pa = va - region + s1;
                    bool overlap = Enumerable.Range(0, (int)(bytes / PageSize.Bytes)).Any(i => model.ContainsKey(va + (ulong)i * PageSize.Bytes));
                    Status s = rec.MapRange(V(va), P(pa), bytes, f, ref frames, ref b);
                    Assert.Equal(overlap, s != Status.Ok);
                    if (!overlap) for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (pa + o, TFormat.Effective(f));
                    break;
                case 1:
                    bool any = false;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) any |= model.Remove(va + o);
                    Assert.Equal(any ? Status.Ok : Status.NotMapped, rec.UnmapRange(V(va), bytes, ref frames, ref b));
                    break;
                default:
                    bool all = true;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) all &= model.ContainsKey(va + o);
                    Assert.Equal(all ? Status.Ok : Status.NotMapped, rec.ProtectRange(V(va), bytes, f, ref frames, ref b));
                    if (all) for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (model[va + o].Item1, TFormat.Effective(f));
                    break;
            }
            window.Flush(ref b, ref policy);
            var leaves = LeafList.New();
            rec.Visit(ref leaves);
            var pages = Pages(leaves.Leaves.Where(l => l.Start.Value >= region && l.Start.Value < region + 8 * s1));
            Assert.Equal(model.Count, pages.Count);
            foreach (var (v, m) in model)
            {
                Assert.True(pages.TryGetValue(v, out var got) && got == m, $"step {step}: 0x{v:x}");
                Assert.Equal(Status.Ok, direct.Translate(V(v), out Translation dt)); // the same bytes through the direct map
                Assert.Equal(m.Item1, dt.PageBase.Value + (v - dt.PageStart.Value));
            }
        }
        Assert.Contains(window.Invalidated, va => va == scratchVa); // new tables were filled through the scratch page
        Assert.True(window.Invalidated.Count(va => va >= access.WindowStart && va <= access.WindowLast) > 0, "linked and unlinked tables invalidate their window address");
        rec.UnmapRange(V(region), 8 * s1, ref frames, ref b);
        window.Flush(ref b, ref policy);
        Assert.Equal(free, ram.Free);
        window.Verify();
    }

    [Fact]
    public void AReusedTableSlot_IsNotReachedThroughAStaleWindowTranslation_32Bit() => TableSlotReuse<X86LegacyFormat>(1023, PagingMode.Bits32, 0x1000_0000);

    [Fact]
    public void AReusedTableSlot_IsNotReachedThroughAStaleWindowTranslation_4Level() => TableSlotReuse<X86LongModeFormat>(510, PagingMode.FourLevel, 0xFFFF_8880_0000_0000);

    /// <summary>
    /// The hazard the Linked/Unlinked invalidations exist for: a page table is reached (its
    /// window address cached in the TLB), freed when its last page goes, and a new table in
    /// another frame takes its place. Flushing only the data pages, as the policy does below
    /// its ceiling, would leave the window address pointing at the freed frame; the mapper
    /// would then write the new page's entry into freed memory.
    /// </summary>
    private static void TableSlotReuse<TFormat>(int slot, PagingMode mode, ulong va) where TFormat : struct, IPagingFormat
    {
        using var ram = new TableRam(2048);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var direct));
        byte* root = ram.Ptr(direct.RootPhys);
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, MmuWindow>.InstallLoop(root, direct.RootPhys, slot));
        var window = MmuWindow.Boot(ram, mode, direct.RootPhys);
        Assert.Equal(Status.Ok, RecursiveTableAccess<TFormat, MmuWindow>.Create(root, direct.RootPhys, slot, window, out var access));
        var rec = new Mapper<TFormat, RecursiveTableAccess<TFormat, MmuWindow>>(direct.RootPhys, access);
        var arch = window.Mmu.ArchHooks;
        var policy = FlushPolicy.Default;

        // A neighbour keeps the upper tables, so only the page table comes and goes.
        Assert.Equal(Status.Ok, rec.Map(V(va + (64UL << 20)), P(0x1000), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken t));
        t.Flush(ref arch, ref policy);
        Assert.Equal(Status.Ok, rec.Map(V(va), P(0x5000), MappingSize.Size4KiB, PageFlags.None, ref frames, out t));
        t.Flush(ref arch, ref policy);
        Assert.Equal(Status.Ok, rec.Translate(V(va), out _)); // reads the table through the window: now cached
        Assert.Equal(Status.Ok, rec.Unmap(V(va), ref frames, out t));
        t.Flush(ref arch, ref policy);
        Assert.Equal(Status.Ok, frames.Allocate(0, out Pfn hold)); // the freed frame is not handed out again
        Assert.Equal(Status.Ok, rec.Map(V(va + PageSize.Bytes), P(0x6000), MappingSize.Size4KiB, PageFlags.None, ref frames, out t));
        t.Flush(ref arch, ref policy);
        Assert.Equal(0UL, policy.Counters.Cr3Reloads + policy.Counters.FullFlushes); // page-by-page flushes only
        Assert.Equal(Status.Ok, rec.Translate(V(va + PageSize.Bytes), out Translation tr));
        Assert.Equal(0x6000UL, tr.PageBase.Value);
        Assert.Equal(Status.Ok, direct.Translate(V(va + PageSize.Bytes), out tr)); // really in the tables, not in a freed frame
        Assert.Equal(0x6000UL, tr.PageBase.Value);
        window.Verify();
        frames.Free(hold, 0);
    }

    [Fact]
    public void ArchWindow_InvalidatesThroughTheHooks()
    {
        var log = FakeArch.New();
        var w = new ArchWindow<FakeArch>(log);
        w.Invalidate(0xFFFF_FF7F_BFDF_E000);
        Assert.True(w.Pointer(0x1234_5000) == (byte*)0x1234_5000);
        var i386 = FakeArch.New(hasInvalidatePage: false, cr3: 0x3000);
        new ArchWindow<FakeArch>(i386).Invalidate(0xFFFF_F000);
        Assert.Equal(new[] { "invlpg ffffff7fbfdfe000" }, log.Log);
        Assert.Equal(new[] { "cr3 3000" }, i386.Log);
    }

    [Fact]
    public void WithoutAScratchPage_NewTablesStillWork_ButSplitsAreRefused()
    {
        using var ram = new TableRam(2048);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var direct));
        byte* root = ram.Ptr(direct.RootPhys);
        Assert.Equal(Status.Ok, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.InstallLoop(root, direct.RootPhys, 510));
        Assert.Equal(Status.Ok, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>.Create(root, direct.RootPhys, 510,
            SoftWalkWindow<X86LongModeFormat>.New(ram.Dm, direct.RootPhys), out var access));
        var rec = new Mapper<X86LongModeFormat, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>>(direct.RootPhys, access);
        var b = new FlushBatch();
        ulong free = ram.Free;
        // Poisoned frames become tables: zeroed after linking, they still read back clean.
        Assert.Equal(Status.Ok, rec.MapRange(V(0x4000_0000), P(0x20_0000), 4UL << 20, PageFlags.Writable, ref frames, ref b));
        Assert.Equal(Status.Ok, rec.MapRange(V(0x4080_0000), P(0x1000), 3 * PageSize.Bytes, PageFlags.Writable, ref frames, ref b));
        Assert.Equal(2UL, rec.Census().Leaves(1));
        Assert.Equal(3UL, rec.Census().Leaves(0));
        ulong mid = ram.Free;
        Assert.Equal(Status.Unsupported, rec.UnmapRange(V(0x4000_1000), PageSize.Bytes, ref frames, ref b));
        Assert.Equal(mid, ram.Free);
        Assert.Equal(2UL, rec.Census().Leaves(1));
        Assert.Equal(Status.Ok, rec.UnmapRange(V(0x4000_0000), 16UL << 20, ref frames, ref b));
        Assert.Equal(free, ram.Free);
        Assert.Equal(Status.Unsupported, Mapper<X86LongModeFormat, RecursiveTableAccess<X86LongModeFormat, SoftWalkWindow<X86LongModeFormat>>>.Create(access, ref frames, out _));
    }
}
