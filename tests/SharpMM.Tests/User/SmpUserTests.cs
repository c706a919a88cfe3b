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

    //   Each round: every page paged out, then read back by CPU 1 (mapped writable, Dirty
    //   clear: the page equals its swap slot). Then CPU 1 writes the round's value into every
    //   page (each first write walks and sets Dirty) while CPU 0 runs the clock over and over
    //   (clearing Accessed, evicting pages found not accessed).
    // Expect: CPU 1 reads back its value from every page, every round. A Dirty bit that the
    // clock's rewrite of an entry drops makes the page look clean: the clock then drops it and
    // the page reads its older content back from the slot.
    [Fact]
    public void DirtyBitSetDuringTheClock_IsNeverLost()
    {
        const int pages = 128, rounds = 60;
        using var smp = new SmpFixture<TFormat>(2);
        var s = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, 0, pages * 4096UL, VmaProtection.ReadWrite, out ulong va));
        var barrier = new SpinBarrier(2);
        int written = 0;
        string? lost = null;
        smp.Run(2, cpu =>
        {
            smp.Switch(s);
            for (ulong round = 1; round <= rounds && lost == null; round++)
            {
                if (cpu == 1) for (int i = 0; i < pages; i++) Assert.True(smp.TryWrite(va + (ulong)i * 4096, round << 32 | (uint)i));
                barrier.Wait();
                if (cpu == 0) smp.M.Reclaim(4 * pages, ref smp.Arch);
                barrier.Wait();
                if (cpu == 1)
                {
                    for (int i = 0; i < pages; i++) Assert.True(smp.TryRead(va + (ulong)i * 4096, out _));
                    Volatile.Write(ref written, 0);
                }
                barrier.Wait();
                if (cpu == 1)
                {
                    for (int i = 0; i < pages; i++) Assert.True(smp.TryWrite(va + (ulong)i * 4096, round << 32 | 0x8000_0000u | (uint)i));
                    Volatile.Write(ref written, 1);
                }
                else
                    while (Volatile.Read(ref written) == 0) smp.M.Reclaim(pages / 4, ref smp.Arch);
                barrier.Wait();
                if (cpu == 1)
                    for (int i = 0; i < pages && lost == null; i++)
                    {
                        Assert.True(smp.TryRead(va + (ulong)i * 4096, out ulong got));
                        if (got != (round << 32 | 0x8000_0000u | (uint)i)) lost = $"round {round}, page {i}: read 0x{got:x}";
                    }
                barrier.Wait();
            }
        });
        Assert.True(lost == null, $"a write was lost: {lost}");
        Assert.Empty(smp.Violations);
        smp.F.Validate("after the run");
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

    //   CPU 1 holds space B's table lock (as a fault or an unmap in B would) and waits for
    //   CPU 0, which writes 4 untouched pages of space A (4 demand-zero faults).
    // Expect: CPU 0's faults complete while B's table lock is still held: one table lock per
    // space, two held at once. With one table lock for every space, CPU 0 would wait for CPU 1
    // and CPU 1 for CPU 0 (the wait gives up after 10 s, and the test fails).
    [Fact]
    public void FaultsInOneSpace_RunWhileAnotherSpacesTablesAreHeld()
    {
        using var smp = new SmpFixture<TFormat>(2);
        var a = smp.F.NewSpace();
        var b = smp.F.NewSpace();
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(a, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        ulong aTablesBefore = a->TableLock.Stats.Acquisitions;
        var barrier = new SpinBarrier(2);
        int faulted = 0;
        bool bHeldMeanwhile = false, gaveUp = false;
        smp.Run(2, cpu =>
        {
            if (cpu == 1) b->AcquireTables();
            barrier.Wait();
            if (cpu == 0)
            {
                smp.Switch(a);
                for (int i = 0; i < 4; i++) Assert.True(smp.TryWrite(va + (ulong)i * 4096, (ulong)i + 1));
                bHeldMeanwhile = b->TableLock.IsHeld;
                Volatile.Write(ref faulted, 1);
            }
            else
            {
                var waited = System.Diagnostics.Stopwatch.StartNew();
                while (Volatile.Read(ref faulted) == 0 && waited.Elapsed < TimeSpan.FromSeconds(10)) Cpu.Relax();
                gaveUp = Volatile.Read(ref faulted) == 0;
                b->ReleaseTables();
            }
        });
        Assert.False(gaveUp, "CPU 0's faults in space A waited for space B's table lock");
        Assert.True(bHeldMeanwhile, "space B's table lock was not held while CPU 0 faulted");
        Assert.Equal(4, smp.Faults(FaultKind.DemandZero));
        Assert.True(a->TableLock.Stats.Acquisitions >= aTablesBefore + 4, "the faults did not take space A's table lock");
        Assert.Empty(smp.Violations);
        smp.F.Validate("after the run");
        Assert.Equal(Status.Ok, smp.M.Destroy(a, ref smp.Arch));
        Assert.Equal(Status.Ok, smp.M.Destroy(b, ref smp.Arch));
    }

    //   N CPUs, each running a space of its own with 96 pages, the resident limit 20 frames per
    //   CPU: every CPU writes its pages (each value names the CPU, page and round), reads them
    //   all back, and writes them again, for 3 rounds. Every allocation past the limit runs the
    //   clock over all spaces while the other CPUs fault in theirs (their table locks held:
    //   the clock skips a busy space and tries again).
    // Expect: every read returns the CPU's last write to that page; pages went out and came
    // back in (page-outs and page-ins); then the metadata validates, no stale translation was
    // used, and destroying the spaces frees every frame.
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void SeparateSpaces_UnderMemoryPressure_ReclaimAcrossSpaces(int cpus)
    {
        const int pages = 96, rounds = 3;
        using var smp = new SmpFixture<TFormat>(cpus);
        ulong freeAtStart = smp.F.FreeFrames;
        var spaces = new IntPtr[cpus];
        var vas = new ulong[cpus];
        for (int c = 0; c < cpus; c++)
        {
            var sp = smp.F.NewSpace();
            spaces[c] = (IntPtr)sp;
            Assert.Equal(Status.Ok, smp.M.MapAnonymous(sp, 0, pages * 4096UL, VmaProtection.ReadWrite, out vas[c]));
        }
        smp.M.ResidentLimit = (ulong)cpus * 20;
        ulong outBefore = smp.M.Counters.PagesOut, inBefore = smp.M.Counters.PagesIn;
        var barrier = new SpinBarrier(cpus);
        smp.Run(cpus, cpu =>
        {
            var sp = (AddressSpace<TFormat>*)spaces[cpu];
            ulong va = vas[cpu];
            smp.Switch(sp);
            barrier.Wait();
            for (ulong round = 1; round <= rounds; round++)
            {
                for (int i = 0; i < pages; i++)
                    Assert.True(smp.TryWrite(va + (ulong)i * 4096, Tag(cpu, i, round)), $"cpu {cpu}, round {round}: write to page {i} failed: {smp.LastFault}");
                for (int i = 0; i < pages; i++)
                {
                    Assert.True(smp.TryRead(va + (ulong)i * 4096, out ulong v), $"cpu {cpu}, round {round}: read of page {i} failed: {smp.LastFault}");
                    Assert.True(v == Tag(cpu, i, round), $"cpu {cpu}, round {round}: page {i} holds 0x{v:x}, last written 0x{Tag(cpu, i, round):x}");
                }
            }
        });
        Assert.True(smp.M.Counters.PagesOut > outBefore && smp.M.Counters.PagesIn > inBefore,
            $"no paging: {smp.M.Counters.PagesOut - outBefore} out, {smp.M.Counters.PagesIn - inBefore} in");
        Assert.True(smp.M.UserFrames <= smp.M.ResidentLimit, $"{smp.M.UserFrames} user frames over the limit {smp.M.ResidentLimit}");
        Assert.True(smp.Violations.Count == 0, $"{smp.Violations.Count} stale translations, first: {smp.Violations.FirstOrDefault()}");
        smp.F.Validate("after the run");
        for (int c = 0; c < cpus; c++) Assert.Equal(Status.Ok, smp.M.Destroy((AddressSpace<TFormat>*)spaces[c], ref smp.Arch));
        Assert.Equal(0UL, smp.M.UserFrames);
        Assert.True(smp.F.FreeFrames == freeAtStart, $"{freeAtStart - smp.F.FreeFrames} frames not returned");
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

public sealed unsafe class SmpUserTests64 : SmpUserTests<X86LongModeFormat>
{
    //   CPU 1 runs the space. CPU 0 faults at 64 GiB, where the page needs a new page directory
    //   and page table, and the page table's frame is refused (the directory is made, then
    //   taken out again).
    // Expect: OutOfMemory, the directory shot down on CPU 1 (its walks may have cached the
    // entry that pointed at it) before its frame goes back; every frame back after.
    [Fact]
    public void TableMadeByAFailedFault_IsShotDownBeforeItIsFreed()
    {
        using var smp = new SmpFixture<X86LongModeFormat>(2);
        var s = smp.F.NewSpace();
        const ulong va = 64UL << 30;
        Assert.Equal(Status.Ok, smp.M.MapAnonymous(s, va, 4096, VmaProtection.ReadWrite, out _));
        ulong free0 = smp.F.FreeFrames;
        var barrier = new SpinBarrier(2);
        FaultResult result = default;
        ShootdownCounters before = default, after = default;
        smp.Run(2, cpu =>
        {
            if (cpu == 1) smp.Switch(s);
            barrier.Wait();
            if (cpu == 0)
            {
                before = TlbShootdown.TotalSent;
                smp.M.Frames.Allocations = 0;
                smp.M.Frames.FailAt = 3; // 1: the user frame, 2: the page directory, 3: the page table
                result = smp.M.HandleFault(s, new PageFault(va, PageFaultErrorCode.User | PageFaultErrorCode.Write), ref smp.Arch);
                smp.M.Frames.FailAt = 0;
                after = TlbShootdown.TotalSent;
            }
            barrier.Wait();
        });
        Assert.Equal(FaultKind.OutOfMemory, result.Kind);
        Assert.True(after.Shootdowns > before.Shootdowns && after.Pages > before.Pages,
            $"no shootdown of the unlinked table: shootdowns {before.Shootdowns} -> {after.Shootdowns}, pages {before.Pages} -> {after.Pages}");
        Assert.Equal(free0, smp.F.FreeFrames);
        Assert.Equal(0UL, s->Entry(va));
        smp.F.Validate("after the failed fault");
        Assert.Empty(smp.Violations);
        Assert.Equal(Status.Ok, smp.M.Destroy(s, ref smp.Arch));
    }
}
public sealed class SmpUserTests32 : SmpUserTests<X86LegacyFormat> { }
