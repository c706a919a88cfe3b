using System;
using System.Linq;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Tests.Concurrency;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// One address space on several simulated CPUs, each with its own TLB: a mapping removed or
/// weakened on one CPU is gone from the others' TLBs when the call returns (the shootdown), and
/// without the shootdown the model reports the stale translation; CPUs that do not run the
/// space get no request; faults, unmaps, protects and forks on several CPUs at once leave
/// consistent metadata, no lost write, no leak and no stale translation.
/// </summary>
[Collection(CpuCollection.Name)]
public abstract unsafe class SmpUserTests<TFormat> where TFormat : struct, IPagingFormat
{
    //   CPU 1: writes P (its TLB caches P)      CPU 0: unmaps P       CPU 1: reads P
    // Expect: the read faults (NoRegion): CPU 1's entry was shot down; one shootdown, one IPI.
    [Fact]
    public void Unmap_OnOneCpu_IsSeenByTheOther()
    {
        var (readAfter, kind, violations, sent) = UnmapWhileCached(skipShootdown: false);
        Assert.False(readAfter, "CPU 1 read a page CPU 0 had unmapped");
        Assert.Equal(FaultKind.NoRegion, kind);
        Assert.Empty(violations);
        Assert.True(sent.Shootdowns >= 1 && sent.Ipis >= 1 && sent.Pages >= 1, $"shootdowns {sent.Shootdowns}, IPIs {sent.Ipis}, pages {sent.Pages}");
    }

    // The same with the shootdown skipped: CPU 1 keeps its translation and reads the freed
    // frame; the model must report it (this is what makes the other tests able to fail).
    [Fact]
    public void Unmap_WithoutShootdown_IsAStaleTlbViolation()
    {
        var (readAfter, _, violations, sent) = UnmapWhileCached(skipShootdown: true);
        Assert.True(readAfter, "without a shootdown CPU 1 still translates the page");
        Assert.NotEmpty(violations);
        Assert.Contains("NotPresent", violations[0]);
        Assert.Equal(0UL, sent.Shootdowns);
    }

    private static (bool ReadAfter, FaultKind Kind, System.Collections.Generic.List<string> Violations, ShootdownCounters Sent) UnmapWhileCached(bool skipShootdown)
    {
        using var smp = new SmpFixture<TFormat>(2);
        var s = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(2);
        bool readAfter = false;
        FaultKind kind = FaultKind.Count;
        smp.Run(2, cpu =>
        {
            smp.Switch(s);
            barrier.Wait();
            if (cpu == 1) Assert.True(smp.TryWrite(va + 4096, 0x1234));
            barrier.Wait();
            if (cpu == 0)
            {
                TlbShootdown.SkipForTesting = skipShootdown;
                Assert.Equal(Status.Ok, smp.M.Unmap(s, va + 4096, 4096, ref smp.Arch));
                TlbShootdown.SkipForTesting = false;
            }
            barrier.Wait();
            if (cpu == 1)
            {
                readAfter = smp.TryRead(va + 4096, out _);
                kind = smp.LastFault;
            }
        });
        ShootdownCounters sent = TlbShootdown.TotalSent;
        smp.F.Validate("after the run");
        Assert.Equal(Status.Ok, smp.M.Destroy(s, ref smp.Arch));
        return (readAfter, kind, smp.Violations, sent);
    }

    //   CPU 1 writes P; CPU 0 makes P read-only; CPU 1 writes P again
    // Expect: the second write faults (AccessViolation): rights taken away reach every CPU.
    [Fact]
    public void ProtectReadOnly_OnOneCpu_StopsWritesOnTheOther()
    {
        using var smp = new SmpFixture<TFormat>(2);
        var s = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(2);
        bool secondWrite = true;
        ulong seen = 0;
        smp.Run(2, cpu =>
        {
            smp.Switch(s);
            barrier.Wait();
            if (cpu == 1) Assert.True(smp.TryWrite(va, 7));
            barrier.Wait();
            if (cpu == 0) Assert.Equal(Status.Ok, smp.M.Protect(s, va, 2 * 4096, VmaProtection.Read, ref smp.Arch));
            barrier.Wait();
            if (cpu == 1)
            {
                secondWrite = smp.TryWrite(va, 8);
                Assert.Equal(FaultKind.AccessViolation, smp.LastFault);
                Assert.True(smp.TryRead(va, out seen));
            }
        });
        Assert.False(secondWrite, "a write through a read-only page succeeded on another CPU");
        Assert.Equal(7UL, seen);
        Assert.Empty(smp.Violations);
        Assert.Equal(Status.Ok, smp.M.Destroy(s, ref smp.Arch));
    }

    //   CPUs 0 and 1 run space A; CPU 2 runs space B; CPU 0 unmaps in A
    // Expect: one IPI (to CPU 1 only): CPU 2 does not run A.
    [Fact]
    public void Shootdown_SkipsCpusNotRunningTheSpace()
    {
        using var smp = new SmpFixture<TFormat>(3);
        var a = smp.F.NewSpace();
        var b = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(a, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(3);
        smp.Run(3, cpu =>
        {
            smp.Switch(cpu == 2 ? b : a);
            barrier.Wait();
            if (cpu == 1) Assert.True(smp.TryWrite(va, 1));
            barrier.Wait();
            if (cpu == 0)
            {
                Assert.Equal(0b011UL, a->ActiveCpus);
                Assert.Equal(0b100UL, b->ActiveCpus);
                Assert.Equal(Status.Ok, smp.M.Unmap(a, va, 4096, ref smp.Arch));
            }
            barrier.Wait();
        });
        ShootdownCounters sent = TlbShootdown.TotalSent;
        Assert.Equal(1UL, sent.Shootdowns);
        Assert.Equal(1UL, sent.Ipis);
        Assert.Equal(0UL, a->ActiveCpus);
        Assert.Empty(smp.Violations);
        Assert.Equal(Status.Ok, smp.M.Destroy(a, ref smp.Arch));
        Assert.Equal(Status.Ok, smp.M.Destroy(b, ref smp.Arch));
    }

    //   N CPUs fault the same 64 untouched pages at once, in different orders
    // Expect: each page demand-zeroed once (one CPU maps it, the others find it mapped), every
    //         CPU reads every CPU's write to its own word of each page.
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void SamePages_FaultedOnEveryCpu_AreMappedOnce(int cpus)
    {
        const int pages = 64;
        using var smp = new SmpFixture<TFormat>(cpus);
        var s = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, 0, pages * 4096, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(cpus);
        smp.Run(cpus, cpu =>
        {
            smp.Switch(s);
            barrier.Wait();
            for (int i = 0; i < pages; i++)
            {
                int p = (i * (2 * cpu + 1) + cpu) % pages;
                Assert.True(smp.TryWrite(va + (ulong)p * 4096 + (ulong)cpu * 8, (ulong)(p * 100 + cpu)));
            }
            barrier.Wait();
            for (int p = 0; p < pages; p++)
                for (int c = 0; c < cpus; c++)
                {
                    Assert.True(smp.TryRead(va + (ulong)p * 4096 + (ulong)c * 8, out ulong v));
                    Assert.Equal((ulong)(p * 100 + c), v);
                }
        });
        Assert.Equal(pages, smp.Faults(FaultKind.DemandZero));
        Assert.Equal((ulong)pages, s->ResidentPages);
        Assert.Empty(smp.Violations);
        smp.F.Validate("after the run");
        Assert.Equal(Status.Ok, smp.M.Destroy(s, ref smp.Arch));
    }

    // Seeded: N CPUs in one shared space, each owning a slice of pages it writes patterns to,
    // unmaps and maps again, makes read-only and writable again, and forks (the child writes its
    // own patterns while the others keep writing in the parent: copy-on-write breaks on several
    // CPUs); every CPU also reads the other slices (their values carry their owner and page).
    // Expect: each CPU reads back exactly what it wrote last in its slice (no lost write, no
    // child write seen in the parent), others' words carry the right tag; then the metadata
    // validates, no stale translation was used, and destroying the space frees every frame.
    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    [InlineData(8, 3)]
    public void SharedSpace_RandomOperationsOnEveryCpu(int cpus, int seed)
    {
        const int slice = 16, steps = 300;
        using var smp = new SmpFixture<TFormat>(cpus);
        ulong freeAtStart = smp.F.FreeFrames;
        var s = smp.F.NewSpace();
        int pages = slice * cpus;
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, 0, (ulong)pages * 4096, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(cpus);
        string ctx = $"seed {seed}, {cpus} CPUs";
        try
        {
            smp.Run(cpus, cpu => RandomCpu(smp, s, va, cpu, cpus, slice, steps, seed, barrier));
        }
        catch (AggregateException e)
        {
            throw new Xunit.Sdk.XunitException($"{ctx}: {e.InnerExceptions[0]}");
        }
        Assert.True(smp.Violations.Count == 0, $"{ctx}: {smp.Violations.Count} stale translations, first: {smp.Violations.FirstOrDefault()}");
        smp.F.Validate(ctx);
        ShootdownCounters sent = TlbShootdown.TotalSent;
        Assert.True(sent.Shootdowns > 0 && sent.Ipis >= sent.Shootdowns, $"{ctx}: shootdowns {sent.Shootdowns}, IPIs {sent.Ipis}");
        // Every IPI was one request applied by its target.
        ulong applied = 0;
        for (int c = 0; c < cpus; c++) applied += TlbShootdown.ReceivedCounters(c).Flushed;
        Assert.True(applied == sent.Ipis, $"{ctx}: {sent.Ipis} IPIs sent, {applied} requests applied");
        Assert.Equal(Status.Ok, smp.M.Destroy(s, ref smp.Arch));
        Assert.Equal(0UL, smp.M.UserFrames);
        Assert.True(smp.F.FreeFrames == freeAtStart, $"{ctx}: {freeAtStart - smp.F.FreeFrames} frames not returned");
    }

    private static ulong Tag(int owner, int page, ulong seq) => ((ulong)(owner + 1) << 56) | ((ulong)page << 40) | seq;

    private static void RandomCpu(SmpFixture<TFormat> smp, AddressSpace<TFormat>* s, ulong va, int cpu, int cpus, int slice, int steps, int seed, SpinBarrier barrier)
    {
        var rng = new Random(seed * 7919 + cpu);
        var expected = new ulong[slice];
        ulong seq = 0;
        int first = cpu * slice;
        ulong Page(int p) => va + (ulong)p * 4096;
        smp.Switch(s);
        barrier.Wait();
        for (int step = 0; step < steps; step++)
        {
            string at = $"seed {seed}, cpu {cpu}, step {step}";
            int mine = rng.Next(slice);
            int p = first + mine;
            switch (rng.Next(10))
            {
                case 0: case 1: case 2:
                {
                    ulong v = Tag(cpu, p, ++seq);
                    Assert.True(smp.TryWrite(Page(p), v), $"{at}: write to own page {p} failed: {smp.LastFault}");
                    expected[mine] = v;
                    break;
                }
                case 3: case 4:
                {
                    Assert.True(smp.TryRead(Page(p), out ulong v), $"{at}: read of own page {p} failed: {smp.LastFault}");
                    Assert.True(v == expected[mine], $"{at}: own page {p} holds 0x{v:x}, last written 0x{expected[mine]:x}");
                    break;
                }
                case 5: case 6:
                {
                    int q = rng.Next(slice * cpus);
                    if (smp.TryRead(Page(q), out ulong v) && v != 0)
                    {
                        int owner = (int)(v >> 56) - 1, page = (int)((v >> 40) & 0xFFFF);
                        Assert.True(owner == q / slice && page == q, $"{at}: page {q} holds 0x{v:x}, another page's value");
                    }
                    break;
                }
                case 7:
                {
                    // Unmap one page of the slice and map it again: it reads zero after.
                    Status st = smp.M.Unmap(s, Page(p), 4096, ref smp.Arch);
                    if (st == Status.NoSpace) break;          // region table full: nothing changed
                    Assert.Equal(Status.Ok, st);
                    Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, Page(p), 4096, VmaProtection.ReadWrite, out _));
                    expected[mine] = 0;
                    break;
                }
                case 8:
                {
                    // Read-only for a moment: a write fails, the content stays.
                    Status st = smp.M.Protect(s, Page(p), 4096, VmaProtection.Read, ref smp.Arch);
                    if (st == Status.NoSpace) break;
                    Assert.Equal(Status.Ok, st);
                    Assert.False(smp.TryWrite(Page(p), 1), $"{at}: wrote to read-only page {p}");
                    Assert.True(smp.TryRead(Page(p), out ulong v) && v == expected[mine], $"{at}: read-only page {p} changed");
                    Assert.Equal(Status.Ok, smp.M.Protect(s, Page(p), 4096, VmaProtection.ReadWrite, ref smp.Arch));
                    break;
                }
                case 9:
                {
                    if (rng.Next(4) != 0) break;   // forks are slow: one step in 40
                    var child = smp.Blank();
                    Assert.Equal(Status.Ok, smp.M.Fork(s, child, ref smp.Arch));
                    smp.Switch(child);
                    for (int i = 0; i < slice; i++)
                        Assert.True(smp.TryRead(Page(first + i), out ulong v) && v == expected[i], $"{at}: the child sees page {first + i} unlike the parent at the fork");
                    for (int i = 0; i < slice; i += 3) Assert.True(smp.TryWrite(Page(first + i), Tag(cpu, first + i, 0xFFFFF)), $"{at}: child write");
                    smp.Switch(s);
                    Assert.Equal(Status.Ok, smp.M.Destroy(child, ref smp.Arch));
                    for (int i = 0; i < slice; i++)
                        Assert.True(smp.TryRead(Page(first + i), out ulong v) && v == expected[i], $"{at}: page {first + i} in the parent changed by the child or lost a write");
                    break;
                }
            }
        }
        for (int i = 0; i < slice; i++)
            Assert.True(smp.TryRead(Page(first + i), out ulong v) && v == expected[i], $"seed {seed}, cpu {cpu}, end: page {first + i}");
    }
}

public sealed class SmpUserTests64 : SmpUserTests<X86LongModeFormat> { }
public sealed class SmpUserTests32 : SmpUserTests<X86LegacyFormat> { }
