using System;
using System.Collections.Generic;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.User;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.User.Linux;
using Xunit;
using static SharpMM.User.Linux.LinuxErrno;
using static SharpMM.User.Linux.LinuxMap;
using static SharpMM.User.Linux.LinuxProt;

namespace SharpMM.Tests.User;

/// <summary>
/// Seeded random sequences of mmap (MAP_FIXED, MAP_FIXED_NOREPLACE, private and shared),
/// munmap, mprotect, madvise, mremap (moves with MREMAP_FIXED, shrinks), reads, writes, forks
/// and clock passes in a 64-page window that crosses a page-table boundary, against a reference
/// model of the window (page -> mapped, rights, shared, value). Each call's result and errno,
/// each access's outcome and each value read must be the model's; a fork's child must see the
/// parent's values, and its writes must reach the parent through shared pages only. The
/// metadata is validated every few steps; at the end the space is destroyed and every frame,
/// table page and swap slot is back. The seed is in every message.
/// </summary>
public abstract unsafe class LinuxMemoryRandomTests<TFormat> where TFormat : struct, IPagingFormat
{
    private const ulong Page = 4096;
    private const int Window = 64;

    private struct PageState
    {
        public bool Mapped;
        public ulong Prot;   // PROT_NONE, PROT_READ or PROT_READ | PROT_WRITE
        public bool Shared;
        public ulong Value;
    }

    [Theory]
    [InlineData(1, 400, ulong.MaxValue)]
    [InlineData(2, 400, 48UL)]
    [InlineData(3, 600, 56UL)]
    [InlineData(4, 600, ulong.MaxValue)]
    [InlineData(5, 1500, 48UL)]
    public void RandomCalls_MatchTheModel(int seed, int steps, ulong residentLimit)
    {
        using var f = new UserFixture<TFormat>(16UL << 20, storeSlots: 4096);
        ulong free0 = f.FreeFrames;
        f.M.ResidentLimit = residentLimit;
        var rng = new Random(seed);
        var s = f.NewSpace();
        f.Switch(s);
        ulong span = UserFixture<TFormat>.Is32Bit ? 4UL << 20 : 2UL << 20;
        ulong w = f.Layout.MmapBase + 4 * span - 16 * Page;   // crosses a leaf table's end
        var model = new PageState[Window];
        var limits = LinuxLimits.Unlimited;
        string ctx = "";

        ulong Va(int i) => w + (ulong)i * Page;
        void Expect(long expected, long actual, string what) =>
            Assert.True(expected == actual, $"seed {seed} {ctx}: {what} returned {actual}, the model says {expected}");
        (int, int) Range()
        {
            int a = rng.Next(Window), n = 1 + rng.Next(Math.Min(12, Window - a));
            return (a, n);
        }
        ulong RandomProt() => rng.Next(3) switch { 0 => PROT_NONE, 1 => PROT_READ, _ => PROT_READ | PROT_WRITE };
        // The region holding page i in the model: the run of mapped pages with its rights and kind.
        int RunEnd(int i)
        {
            int j = i;
            while (j < Window && model[j].Mapped && model[j].Prot == model[i].Prot && model[j].Shared == model[i].Shared) j++;
            return j;
        }
        // Where the region holding page i ends (in window pages): within its run, but neighbours
        // with the same rights stay apart where Linux keeps them apart (pages with different
        // owners, offsets that do not continue: VmaSetTests and LinuxMemoryCallsTests pin the
        // rules down), and mremap cannot cross a region's end.
        int RegionEnd(int i)
        {
            int r = s->Regions.Find(Va(i));
            Assert.True(r >= 0, $"seed {seed} {ctx}: page {i} is mapped in the model and in no region");
            ulong end = s->Regions[r].End;
            int j = end >= Va(Window) ? Window : (int)((end - w) / Page);
            Assert.True(j <= RunEnd(i), $"seed {seed} {ctx}: the region of page {i} runs past its rights to page {j}");
            return j;
        }

        for (int step = 0; step < steps; step++)
        {
            int op = rng.Next(100);
            var (a, n) = Range();
            ctx = $"step {step} op {op} pages [{a}, {a + n})";
            if (op < 14)
            {
                ulong prot = RandomProt();
                bool shared = rng.Next(6) == 0;
                bool noReplace = rng.Next(4) == 0;
                ulong flags = MAP_ANONYMOUS | (shared ? MAP_SHARED : MAP_PRIVATE) | (noReplace ? MAP_FIXED_NOREPLACE : MAP_FIXED);
                long r = LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mmap(ref f.M, s, Va(a), (ulong)n * Page, prot, flags, null, 0, limits, ref f.Arch);
                bool any = false;
                for (int i = a; i < a + n; i++) any |= model[i].Mapped;
                if (noReplace && any) { Expect(-EEXIST, r, "mmap"); continue; }
                Expect((long)Va(a), r, "mmap");
                for (int i = a; i < a + n; i++) model[i] = new PageState { Mapped = true, Prot = prot, Shared = shared };
            }
            else if (op < 22)
            {
                Expect(0, LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Munmap(ref f.M, s, Va(a), (ulong)n * Page, ref f.Arch), "munmap");
                for (int i = a; i < a + n; i++) model[i] = default;
            }
            else if (op < 32)
            {
                ulong prot = RandomProt();
                bool all = true;
                for (int i = a; i < a + n; i++) all &= model[i].Mapped;
                Expect(all ? 0 : -ENOMEM, LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mprotect(ref f.M, s, Va(a), (ulong)n * Page, prot, ref f.Arch), "mprotect");
                if (all) for (int i = a; i < a + n; i++) model[i].Prot = prot;
            }
            else if (op < 38)
            {
                bool hole = false;
                for (int i = a; i < a + n; i++) hole |= !model[i].Mapped;
                Expect(hole ? -ENOMEM : 0, LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Madvise(ref f.M, s, Va(a), (ulong)n * Page, LinuxMadv.MADV_DONTNEED, ref f.Arch), "madvise");
                for (int i = a; i < a + n; i++) if (model[i].Mapped && !model[i].Shared) model[i].Value = 0;
            }
            else if (op < 48)
            {
                // mremap: a move to a fixed place in the window (any size), or a shrink in place.
                bool shrink = rng.Next(3) == 0;
                int t = rng.Next(Window), newN = 1 + rng.Next(Math.Min(12, Window - t));
                if (shrink) newN = 1 + rng.Next(n);
                ulong flags = shrink ? 0 : LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_FIXED;
                int regionEnd = model[a].Mapped ? RegionEnd(a) : a;
                long r = LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mremap(ref f.M, s, Va(a), (ulong)n * Page, (ulong)newN * Page, flags, shrink ? 0 : Va(t), limits, ref f.Arch);
                ctx += $" -> [{t}, {t + newN}) shrink {shrink}";
                // Linux's order (6.x check_mremap_params before the lookup): a move's overlapping
                // ranges, then the old address in no region, then an old range past its region's
                // end (for a move to a smaller size, the part that moves); a shrink cuts the tail
                // wherever it is, a move to a smaller size too.
                long expected;
                if (!shrink && a < t + newN && t < a + n) expected = -EINVAL;
                else if (!model[a].Mapped) expected = -EFAULT;
                else if (shrink) expected = (long)Va(a);
                else if (newN < n && regionEnd < a + newN) expected = -EFAULT;
                else if (newN < n)
                {
                    for (int i = a + newN; i < a + n; i++) model[i] = default;
                    expected = (long)Va(t);
                }
                else if (regionEnd < a + n) expected = -EFAULT;
                else expected = (long)Va(t);
                Expect(expected, r, "mremap");
                if (r < 0) continue;
                if (shrink)
                {
                    for (int i = a + newN; i < a + n; i++) model[i] = default;
                    continue;
                }
                var moved = new PageState[newN];
                for (int i = 0; i < newN; i++)
                    moved[i] = i < n ? model[a + i] : new PageState { Mapped = true, Prot = model[a].Prot, Shared = model[a].Shared };
                for (int i = a; i < a + n; i++) model[i] = default;
                for (int i = 0; i < newN; i++) model[t + i] = moved[i];
            }
            else if (op < 70)
            {
                int i = a;
                ulong value = (ulong)rng.NextInt64(1, long.MaxValue);
                AccessStatus st = f.Write(Va(i) + 8, value);
                PageState p = model[i];
                bool ok = p.Mapped && (p.Prot & PROT_WRITE) != 0;
                Assert.True((st == AccessStatus.Ok) == ok, $"seed {seed} {ctx}: write to page {i}: {st}, last fault {f.LastFault}, model {p.Mapped}/{p.Prot}");
                if (!ok) Assert.Equal(p.Mapped ? FaultKind.AccessViolation : FaultKind.NoRegion, f.LastFault);
                else model[i].Value = value;
            }
            else if (op < 92)
            {
                int i = a;
                AccessStatus st = f.Read(Va(i) + 8, out ulong v);
                PageState p = model[i];
                bool ok = p.Mapped && p.Prot != PROT_NONE;
                Assert.True((st == AccessStatus.Ok) == ok, $"seed {seed} {ctx}: read of page {i}: {st}, last fault {f.LastFault}");
                if (ok) Assert.True(v == p.Value, $"seed {seed} {ctx}: page {i} reads 0x{v:x}, the model says 0x{p.Value:x}");
            }
            else if (op < 96)
            {
                f.M.Reclaim(8, ref f.Arch);
            }
            else
            {
                // Fork: the child sees every value; its writes reach the parent through shared pages only.
                var c = f.Blank();
                Status forked = f.M.Fork(s, c, ref f.Arch);
                if (forked == Status.OutOfMemory && residentLimit != ulong.MaxValue) continue; // shared pages fill the limit
                Assert.True(forked == Status.Ok, $"seed {seed} {ctx}: fork {forked}");
                f.Switch(c);
                for (int i = 0; i < Window; i++)
                {
                    PageState p = model[i];
                    if (!p.Mapped || p.Prot == PROT_NONE) continue;
                    Assert.True(f.Read(Va(i) + 8, out ulong v) == AccessStatus.Ok && v == p.Value, $"seed {seed} {ctx}: child reads page {i} as 0x{v:x}, parent's 0x{p.Value:x}");
                    if ((p.Prot & PROT_WRITE) == 0) continue;
                    ulong cv = p.Value ^ 0x5A5A;
                    f.MustWrite(Va(i) + 8, cv);
                    if (p.Shared) model[i].Value = cv;
                }
                f.Switch(null);
                Assert.Equal(Status.Ok, f.M.Destroy(c, ref f.Arch));
                f.Switch(s);
            }
            if (step % 25 == 0) f.Validate($"seed {seed} {ctx}");
        }
        for (int i = 0; i < Window; i++)
        {
            PageState p = model[i];
            if (!p.Mapped || p.Prot == PROT_NONE) continue;
            Assert.True(f.Read(Va(i) + 8, out ulong v) == AccessStatus.Ok && v == p.Value, $"seed {seed}: final read of page {i}: 0x{v:x}, the model says 0x{p.Value:x}");
        }
        f.Validate($"seed {seed} at the end");
        f.Switch(null);
        Assert.Equal(Status.Ok, f.M.Destroy(s, ref f.Arch));
        Assert.True(free0 == f.FreeFrames, $"seed {seed}: {free0 - f.FreeFrames} frames not given back");
        Assert.Equal(0UL, f.M.UserFrames);
        for (ulong sl = f.M.Slots.First; sl < f.M.Slots.First + f.M.Slots.Count; sl++)
            Assert.True(f.M.Slots.RefCount(sl) == 0, $"seed {seed}: swap slot {sl} still referenced");
    }
}

public sealed class LinuxMemoryRandomTests64 : LinuxMemoryRandomTests<X86LongModeFormat> { }
public sealed class LinuxMemoryRandomTests32 : LinuxMemoryRandomTests<X86LegacyFormat> { }
