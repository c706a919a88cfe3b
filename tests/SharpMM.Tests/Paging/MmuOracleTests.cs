using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>
/// The mapper's x86 tables read by the hosted MMU model (which walks raw table bytes and never
/// uses the library's paging code) with its TLB in strict mode: a translation served after its
/// entries changed without invalidation throws. Each step: touch a sample of pages (filling the
/// TLB), change the mappings, flush through the policy with the MMU as arch hooks, then check
/// that every page in the window translates as a reference model says, with the rights it says
/// (write, user, fetch). So the tables are valid hardware tables (no reserved bit set, PS, PAT,
/// XD where the SDM wants them), and every change's flush is enough: invlpg page by page, CR3
/// reloads, FlushAll for global pages, PDPTE reloads on PAE, full flushes after splits.
/// </summary>
public abstract unsafe class MmuOracleTests<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    protected abstract PagingMode Mode { get; }
    /// <summary>Start of the test window, aligned to a top-level entry (the window straddles it).</summary>
    protected abstract ulong Boundary { get; }

    private readonly TableRam _ram = new(8192);
    private TestFrames _frames;
    private Mmu _mmu = null!;
    private MmuArchHooks _arch;
    private FlushPolicy _policy = FlushPolicy.Default;
    private Mapper<TFormat, DirectMapTableAccess> _m;

    public void Dispose()
    {
        _ram.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Boot(bool invlpg)
    {
        _frames = _ram.Frames();
        _mmu = new Mmu(_ram.Ram, new MmuOptions { HasInvalidatePage = invlpg });
        _arch = _mmu.ArchHooks;
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out _m));
        _mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable;
        if (Mode != PagingMode.Bits32) _mmu.Efer = EferFlags.NoExecuteEnable;
        _mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        _mmu.EnablePaging(Mode, _m.RootPhys);
        _mmu.Tlb.PanicOnViolation = true;
    }

    private void Check(Dictionary<ulong, (ulong pa, PageFlags flags)> model, ulong lo, ulong pages, string ctx)
    {
        for (ulong i = 0; i < pages; i++)
        {
            ulong va = lo + i * PageSize.Bytes + (i * 40 & 0xFF8);
            bool mapped = model.TryGetValue(va & ~PageSize.OffsetMask, out var m);
            var r = _mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out ulong pa);
            if (!mapped) { Assert.True(r == TranslationResult.PageFault, $"{ctx}: 0x{va:x} should fault, got {r}"); continue; }
            Assert.True(r == TranslationResult.Ok && pa == m.pa + (va & PageSize.OffsetMask), $"{ctx}: 0x{va:x} read gave {r} 0x{pa:x}, model 0x{m.pa:x}");
            if (i % 7 != 0) continue; // rights on a sample: each check may set A/D bits
            Expect(va, AccessKind.Write, Privilege.Supervisor, (m.flags & PageFlags.Writable) != 0, ctx);
            Expect(va, AccessKind.Read, Privilege.User, (m.flags & PageFlags.User) != 0, ctx);
            Expect(va, AccessKind.Fetch, Privilege.Supervisor, (m.flags & PageFlags.Executable) != 0, ctx);
        }
    }

    private void Expect(ulong va, AccessKind access, Privilege privilege, bool allowed, string ctx)
    {
        var r = _mmu.Translate(va, access, privilege, out _);
        Assert.True((r == TranslationResult.Ok) == allowed, $"{ctx}: {access} by {privilege} at 0x{va:x} gave {r}, expected {(allowed ? "Ok" : "a fault")}");
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 3)]
    public void RandomChanges_FlushedByThePolicy_NeverServeAStaleTranslation(bool invlpg, int seed)
    {
        Boot(invlpg);
        var rng = new Random(seed);
        ulong s1 = 1UL << TFormat.IndexShift(1);
        ulong lo = Boundary - 4 * s1, pages = 8 * s1 / PageSize.Bytes;
        var model = new Dictionary<ulong, (ulong pa, PageFlags flags)>();
        var batch = new FlushBatch();
        for (int step = 0; step < 120; step++)
        {
            string ctx = $"seed {seed}, step {step}";
            // Fill the TLB with some of what is mapped now.
            foreach (ulong v in model.Keys.OrderBy(_ => rng.Next()).Take(64))
                _mmu.Translate(v, AccessKind.Read, Privilege.Supervisor, out _);
            ulong va = lo + (ulong)rng.NextInt64(0, (long)pages) * PageSize.Bytes;
            ulong bytes = Math.Min((ulong)(rng.Next(2) == 0 ? rng.Next(1, 50) : rng.Next(1, (int)(2 * s1 / PageSize.Bytes))) * PageSize.Bytes, lo + pages * PageSize.Bytes - va);
            var f = (PageFlags)rng.Next(256) & ~(PageFlags.Accessed | PageFlags.Dirty);
            switch (rng.Next(5))
            {
                case 0: case 1:
                {
                    ulong pa = rng.Next(2) == 0 ? va - lo + 0x4000_0000 : (ulong)rng.Next(1, 1 << 16) * PageSize.Bytes;
                    bool overlap = false;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) overlap |= model.ContainsKey(va + o);
                    Status s = _m.MapRange(V(va), P(pa), bytes, f, ref _frames, ref batch);
                    Assert.True(overlap != (s == Status.Ok), $"{ctx}: MapRange gave {s}");
                    if (!overlap) for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (pa + o, TFormat.Effective(f));
                    break;
                }
                case 2:
                {
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) model.Remove(va + o);
                    _m.UnmapRange(V(va), bytes, ref _frames, ref batch);
                    break;
                }
                case 3:
                {
                    bool all = true;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) all &= model.ContainsKey(va + o);
                    Assert.Equal(all ? Status.Ok : Status.NotMapped, _m.ProtectRange(V(va), bytes, f, ref _frames, ref batch));
                    if (all) for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (model[va + o].pa, TFormat.Effective(f));
                    break;
                }
                default:
                {
                    // Single-page protect or unmap of whatever leaf starts here, through a token.
                    if (_m.Translate(V(va), out Translation t) != Status.Ok || t.PageStart.Value != va) break;
                    FlushToken token;
                    if (rng.Next(2) == 0)
                    {
                        Assert.Equal(Status.Ok, _m.Protect(V(va), f, out token));
                        for (ulong o = 0; o < (1UL << (int)t.Size); o += PageSize.Bytes) model[va + o] = (model[va + o].pa, TFormat.Effective(f));
                    }
                    else
                    {
                        Assert.Equal(Status.Ok, _m.Unmap(V(va), ref _frames, out token));
                        for (ulong o = 0; o < (1UL << (int)t.Size); o += PageSize.Bytes) model.Remove(va + o);
                    }
                    token.Flush(ref _arch, ref _policy);
                    break;
                }
            }
            batch.Flush(ref _arch, ref _policy);
            Check(model, lo, pages, ctx);
        }
        Assert.Equal(0, _mmu.Tlb.ViolationCount);
        Assert.True(_policy.Counters.PagesInvalidated + _policy.Counters.Cr3Reloads + _policy.Counters.FullFlushes > 0);
        if (!invlpg) Assert.Equal(0UL, _policy.Counters.PagesInvalidated);
    }

    [Fact]
    public void AnIgnoredToken_IsCaughtByTheModel()
    {
        Boot(true);
        ulong va = Boundary + 0x5000;
        Assert.Equal(Status.Ok, _m.Map(V(va), P(0x9000), MappingSize.Size4KiB, PageFlags.Writable, ref _frames, out FlushToken t));
        t.Flush(ref _arch, ref _policy);
        Assert.Equal(TranslationResult.Ok, _mmu.Translate(va, AccessKind.Write, Privilege.Supervisor, out _));
        Assert.Equal(Status.Ok, _m.Protect(V(va), PageFlags.None, out t));
        t.Ignore(ref _policy);
        Assert.Throws<StaleTranslationException>(() => _mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out _));
    }

    [Fact]
    public void SplittingALargePage_UnderTheTlb()
    {
        Boot(true);
        ulong s1 = 1UL << TFormat.IndexShift(1);
        ulong va = Boundary;
        var batch = new FlushBatch();
        Assert.Equal(Status.Ok, _m.MapRange(V(va), P(8 * s1), 2 * s1, PageFlags.Writable | PageFlags.Global, ref _frames, ref batch));
        batch.Flush(ref _arch, ref _policy);
        for (ulong o = 0; o < 2 * s1; o += 0x10000) _mmu.Translate(va + o, AccessKind.Write, Privilege.Supervisor, out _);
        Assert.Equal(Status.Ok, _m.ProtectRange(V(va + s1 / 2), s1, PageFlags.None, ref _frames, ref batch));
        Assert.True(batch.NeedsFullFlush && batch.HasGlobal);
        batch.Flush(ref _arch, ref _policy);
        Assert.Equal(1UL, _policy.Counters.FullFlushes);
        for (ulong o = 0; o < 2 * s1; o += PageSize.Bytes)
        {
            bool ro = o >= s1 / 2 && o < s1 / 2 + s1;
            Assert.Equal(TranslationResult.Ok, _mmu.Translate(va + o, AccessKind.Read, Privilege.Supervisor, out ulong pa));
            Assert.Equal(8 * s1 + o, pa);
            Assert.Equal(ro ? TranslationResult.PageFault : TranslationResult.Ok, _mmu.Translate(va + o, AccessKind.Write, Privilege.Supervisor, out _));
        }
    }
}

public sealed class MmuOracleLegacyTests : MmuOracleTests<X86LegacyFormat>
{
    protected override PagingMode Mode => PagingMode.Bits32;
    protected override ulong Boundary => 0x8000_0000;

    [Fact]
    public void Pse36_PageAbove4GiB_AsTheModelReadsIt()
    {
        using var ram = new TableRam(64);
        var frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LegacyFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0xC000_0000), P(0x3F_FFC0_0000), MappingSize.Size4MiB, PageFlags.Writable, ref frames, out _));
        var mmu = new Mmu(ram.Ram, new MmuOptions { MaxPhysicalAddressBits = 40 });
        mmu.Cr4 = Cr4Flags.PageSizeExtensions;
        mmu.EnablePaging(PagingMode.Bits32, m.RootPhys);
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xC012_3456, AccessKind.Write, Privilege.Supervisor, out ulong pa));
        Assert.Equal(0x3F_FFD2_3456UL, pa);
    }
}

public sealed class MmuOraclePaeTests : MmuOracleTests<X86PaeFormat>
{
    protected override PagingMode Mode => PagingMode.Pae;
    protected override ulong Boundary => 0x8000_0000;
}

public sealed class MmuOracleLongModeTests : MmuOracleTests<X86LongModeFormat>
{
    protected override PagingMode Mode => PagingMode.FourLevel;
    protected override ulong Boundary => 0xFFFF_8880_0000_0000;
}
