using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>
/// TLB discipline: what each change records and what the policy turns it into, checked with
/// a fake arch that logs every hook call. Expect, for the default policy (ceiling 33):
/// <code>
///   1..33 changed pages           -> one invlpg each
///   34+ pages, none global        -> one CR3 reload
///   34+ pages, one global         -> FlushAll
///   a large page split            -> full flush (CR3 reload, or FlushAll if global)
///   no invlpg (i386)              -> CR3 reload; FlushAll if global
///   PAE PDPTE changed             -> CR3 reload (the PDPTEs are latched at CR3 load)
/// </code>
/// </summary>
public sealed unsafe class FlushTests : IDisposable
{
    private readonly TableRam _ram = new(4096);
    private TestFrames _frames;
    private Mapper<X86LongModeFormat, DirectMapTableAccess> _m;
    private FakeArch _arch = FakeArch.New();
    private FlushPolicy _policy = FlushPolicy.Default;
    private const ulong Base = 0x0000_4000_0000_0000;

    public FlushTests()
    {
        _frames = _ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out _m));
    }

    public void Dispose() => _ram.Dispose();

    // Maps `pages` 4 KiB pages with a physical offset that rules out large pages (on x86 a new
    // mapping needs no invalidation: the batch stays empty), then makes them executable, which
    // changes every entry: the batch returned holds those changes.
    private FlushBatch MapPages(ulong va, int pages, PageFlags flags)
    {
        var b = new FlushBatch();
        Assert.Equal(Status.Ok, _m.MapRange(V(va), P(0x1000), (ulong)pages * PageSize.Bytes, flags, ref _frames, ref b));
        Assert.True(b.IsEmpty, "x86 caches no not-present entry: a new mapping needs no invalidation");
        Assert.Equal(Status.Ok, _m.ProtectRange(V(va), (ulong)pages * PageSize.Bytes, flags | PageFlags.Executable, ref _frames, ref b));
        return b;
    }

    // Maps one 4 KiB page (an empty token: nothing to invalidate) and changes it (a token for it).
    private FlushToken MapAndChange(ulong va, PageFlags flags)
    {
        Assert.Equal(Status.Ok, _m.Map(V(va), P(0x5000), MappingSize.Size4KiB, flags, ref _frames, out FlushToken t));
        Assert.True(t.IsEmpty, "x86 caches no not-present entry: a new mapping needs no invalidation");
        Assert.Equal(Status.Ok, _m.Protect(V(va), flags | PageFlags.Executable, out t));
        return t;
    }

    [Fact]
    public void SinglePage_OneInvalidation()
    {
        FlushToken t = MapAndChange(Base, PageFlags.Writable);
        Assert.True(t.HasPage && !t.IsGlobal && !t.NeedsFullFlush && !t.NeedsRootReload);
        t.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { $"invlpg {Base:x}" }, _arch.Log);
        Assert.Equal(1UL, _policy.Counters.PagesInvalidated);
        Assert.Equal(1UL, _policy.Counters.Flushed);

        Assert.Equal(Status.Ok, _m.Unmap(V(Base), ref _frames, out t));
        t.Ignore(ref _policy);
        Assert.Equal(1UL, _policy.Counters.Ignored);
        Assert.Single(_arch.Log);
    }

    [Fact]
    public void FailedOperation_GivesAnEmptyToken()
    {
        Assert.Equal(Status.NotMapped, _m.Unmap(V(Base), ref _frames, out FlushToken t));
        Assert.True(t.IsEmpty);
        t.Flush(ref _arch, ref _policy);
        t.Ignore(ref _policy);
        Assert.Empty(_arch.Log);
        Assert.Equal(default, _policy.Counters);
    }

    [Theory]
    [InlineData(1, 1, 0, 0)]
    [InlineData(33, 33, 0, 0)]
    [InlineData(34, 0, 1, 0)]
    [InlineData(200, 0, 1, 0)]
    public void Ceiling_33Pages(int pages, int invlpg, int cr3, int flushAll)
    {
        var b = MapPages(Base, pages, PageFlags.Writable);
        Assert.Equal((ulong)pages, b.TotalChanges);
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(invlpg, _arch.Log.Count(l => l.StartsWith("invlpg")));
        Assert.Equal(cr3, _arch.Log.Count(l => l.StartsWith("cr3")));
        Assert.Equal(flushAll, _arch.Log.Count(l => l == "flushall"));
        Assert.Equal((ulong)invlpg, _policy.Counters.PagesInvalidated);
        Assert.Equal((ulong)cr3, _policy.Counters.Cr3Reloads);
        Assert.True(b.IsEmpty, "a flushed batch is empty");
        if (invlpg > 0) Assert.Equal(Enumerable.Range(0, pages).Select(i => $"invlpg {Base + (ulong)i * PageSize.Bytes:x}"), _arch.Log);
        if (cr3 > 0) Assert.Equal("cr3 1000", _arch.Log[0]); // reloads the value it read
    }

    [Fact]
    public void GlobalMappings_AboveTheCeiling_NeedFlushAll()
    {
        var b = MapPages(Base, 40, PageFlags.Global);
        Assert.True(b.HasGlobal);
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { "flushall" }, _arch.Log);
        Assert.Equal(1UL, _policy.Counters.FullFlushes);

        // Below the ceiling, invlpg removes global entries too.
        _arch.Log.Clear();
        b = new FlushBatch();
        Assert.Equal(Status.Ok, _m.UnmapRange(V(Base), 2 * PageSize.Bytes, ref _frames, ref b));
        Assert.True(b.HasGlobal);
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { $"invlpg {Base:x}", $"invlpg {Base + 0x1000:x}" }, _arch.Log);
    }

    [Fact]
    public void Protect_AwayFromGlobal_IsStillGlobal()
    {
        Assert.Equal(Status.Ok, _m.Map(V(Base), P(0x5000), MappingSize.Size4KiB, PageFlags.Global, ref _frames, out FlushToken t));
        t.Ignore(ref _policy);
        Assert.Equal(Status.Ok, _m.Protect(V(Base), PageFlags.Writable, out t));
        Assert.True(t.IsGlobal, "the old entry was global: a CR3 reload would not remove it");
        var noInvlpg = FakeArch.New(hasInvalidatePage: false);
        t.Flush(ref noInvlpg, ref _policy);
        Assert.Equal(new[] { "flushall" }, noInvlpg.Log);
    }

    [Fact]
    public void WithoutInvlpg_ASinglePageReloadsCr3()
    {
        var i386 = FakeArch.New(hasInvalidatePage: false, cr3: 0x7000);
        FlushToken t = MapAndChange(Base, PageFlags.None);
        t.Flush(ref i386, ref _policy);
        Assert.Equal(new[] { "cr3 7000" }, i386.Log);
        var b = MapPages(Base + 0x10000, 3, PageFlags.None);
        b.Flush(ref i386, ref _policy);
        Assert.Equal(new[] { "cr3 7000", "cr3 7000" }, i386.Log); // one reload covers the whole batch
        Assert.Equal(2UL, _policy.Counters.Cr3Reloads);
        Assert.Equal(0UL, _policy.Counters.PagesInvalidated);
    }

    [Fact]
    public void Split_NeedsAFullFlush()
    {
        var b = new FlushBatch();
        Assert.Equal(Status.Ok, _m.MapRange(V(Base), P(0x4000_0000), 2UL << 20, PageFlags.Writable, ref _frames, ref b));
        Assert.True(b.IsEmpty); // one new 2 MiB page: nothing to invalidate
        Assert.Equal(Status.Ok, _m.ProtectRange(V(Base), 2UL << 20, PageFlags.Writable | PageFlags.Executable, ref _frames, ref b));
        Assert.Equal(1, b.Count); // one 2 MiB page changed
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { $"invlpg {Base:x}" }, _arch.Log);
        _arch.Log.Clear();

        Assert.Equal(Status.Ok, _m.UnmapRange(V(Base + 0x3000), PageSize.Bytes, ref _frames, ref b));
        Assert.True(b.NeedsFullFlush, "splitting a 2 MiB page changes page sizes: the TLB may hold both");
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { "cr3 1000" }, _arch.Log);

        _arch.Log.Clear();
        Assert.Equal(Status.Ok, _m.ProtectRange(V(Base), 0x3000, PageFlags.Global, ref _frames, ref b));
        Assert.Equal(Status.Ok, _m.MapRange(V(Base + (4UL << 20)), P(0x4000_0000), 2UL << 20, PageFlags.Global, ref _frames, ref b));
        Assert.Equal(Status.Ok, _m.UnmapRange(V(Base + (5UL << 20)), PageSize.Bytes, ref _frames, ref b));
        b.Flush(ref _arch, ref _policy);
        Assert.Equal(new[] { "flushall" }, _arch.Log);
    }

    [Fact]
    public void Ceiling_Zero_AlwaysFlushesEverything_AndBatchesOverflowToFull()
    {
        var policy = new FlushPolicy(0);
        FlushToken t = MapAndChange(Base, PageFlags.None);
        t.Flush(ref _arch, ref policy);
        Assert.Equal(new[] { "cr3 1000" }, _arch.Log);

        var b = MapPages(Base + 0x100000, FlushBatch.Capacity + 1, PageFlags.None);
        Assert.True(b.NeedsFullFlush);
        Assert.Equal(FlushBatch.Capacity, b.Count);
        Assert.Equal((ulong)FlushBatch.Capacity + 1, b.TotalChanges);
        var big = new FlushPolicy(1000); // above the capacity: still a full flush for an overflowed batch
        _arch.Log.Clear();
        b.Flush(ref _arch, ref big);
        Assert.Equal(new[] { "cr3 1000" }, _arch.Log);
    }

    [Fact]
    public void Batch_AccumulatesTokensAndOperations()
    {
        var b = new FlushBatch();
        for (int i = 0; i < 3; i++) b.Add(MapAndChange(Base + (ulong)i * PageSize.Bytes, PageFlags.None));
        Assert.Equal(Status.Ok, _m.UnmapRange(V(Base), 3 * PageSize.Bytes, ref _frames, ref b));
        Assert.Equal(6, b.Count);
        b.Ignore(ref _policy);
        Assert.True(b.IsEmpty);
        Assert.Equal(1UL, _policy.Counters.Ignored);
    }

    [Fact]
    public void Pae_ChangingAPdpte_ReloadsCr3()
    {
        using var ram = new TableRam(1024);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86PaeFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var pae));
        var arch = FakeArch.New(cr3: 0x2000);
        var policy = FlushPolicy.Default;

        Assert.Equal(Status.Ok, pae.Map(V(0xC000_0000), P(0x5000), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken t));
        Assert.True(t.NeedsRootReload, "a new page directory is only seen after the PDPTEs are reloaded");
        t.Flush(ref arch, ref policy);
        Assert.Equal(new[] { "cr3 2000" }, arch.Log);

        arch.Log.Clear();
        Assert.Equal(Status.Ok, pae.Map(V(0xC000_1000), P(0x5000), MappingSize.Size4KiB, PageFlags.Global, ref frames, out t));
        Assert.True(t.IsEmpty, "same directory, and a new PTE needs no invalidation");
        t.Flush(ref arch, ref policy);
        Assert.Empty(arch.Log);

        arch.Log.Clear();
        Assert.Equal(Status.Ok, pae.Unmap(V(0xC000_0000), ref frames, out t));
        Assert.False(t.NeedsRootReload);
        t.Ignore(ref policy);
        Assert.Equal(Status.Ok, pae.Unmap(V(0xC000_1000), ref frames, out t));
        Assert.True(t.NeedsRootReload && t.IsGlobal, "the directory went away with its last page");
        t.Flush(ref arch, ref policy);
        Assert.Equal(new[] { "cr3 2000", "invlpg c0001000" }, arch.Log); // reload for the PDPTE, invlpg for the global page
    }
}
