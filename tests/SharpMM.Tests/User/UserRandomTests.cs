using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// Seeded random sequences against a reference model: several processes write, read, fork,
/// exit, unmap, protect and map, through the MMU model, while a resident limit well below
/// their total forces the clock to page out to the store (and shared pages out one mapping at
/// a time). After every step the value read is the model's; every few steps the metadata is
/// validated (mapping counts, slot counts, resident and swapped counts). At the end every space
/// is destroyed and every frame, table page and slot is back. The seed is in every message.
/// </summary>
public abstract unsafe class UserRandomTests<TFormat> where TFormat : struct, IPagingFormat
{
    private sealed class Proc
    {
        public nint Space;
        public Dictionary<ulong, ulong> Values = new();        // page -> value written at page + (page>>12 & 0x1F8)
        public Dictionary<ulong, VmaProtection> Pages = new(); // mapped pages and their rights
    }

    [Theory]
    [InlineData(1, 60)]
    [InlineData(2, 200)]
    [InlineData(3, 200)]
    [InlineData(4, 1000)]
    [InlineData(5, 100000)]
    public void RandomProcesses_MatchTheModel(int seed, ulong residentLimit)
    {
        using var f = new UserFixture<TFormat>(16UL << 20, storeSlots: 8192);
        ulong free0 = f.FreeFrames;
        f.M.ResidentLimit = residentLimit;
        var rng = new Random(seed);
        var procs = new List<Proc>();
        ulong baseVa = f.Layout.MmapBase;
        const int Pages = 96;

        Proc Spawn()
        {
            var s = f.NewSpace();
            var p = new Proc { Space = (nint)s };
            Assert.Equal(Status.Ok, f.M.MapAnonymous(s, baseVa, Pages * 4096, VmaProtection.ReadWrite, out _));
            for (ulong i = 0; i < Pages; i++) p.Pages[baseVa + i * 4096] = VmaProtection.ReadWrite;
            procs.Add(p);
            return p;
        }
        Spawn();
        Spawn();

        for (int step = 0; step < 3000; step++)
        {
            string ctx = $"seed {seed} limit {residentLimit} step {step}";
            Proc p = procs[rng.Next(procs.Count)];
            var s = (AddressSpace<TFormat>*)p.Space;
            f.Switch(s);
            int op = rng.Next(100);
            ulong page = baseVa + (ulong)rng.Next(Pages + 8) * 4096;
            ulong word = page + ((page >> 12) * 8 & 0xFF8);
            p.Pages.TryGetValue(page, out VmaProtection prot);
            bool mapped = p.Pages.ContainsKey(page);
            if (op < 45)
            {
                ulong v = (ulong)rng.NextInt64();
                var st = f.Write(word, v);
                bool ok = mapped && (prot & VmaProtection.Write) != 0;
                Assert.True((st == AccessStatus.Ok) == ok, $"{ctx}: write 0x{word:x} gave {st} ({f.LastFault}), model says {(ok ? "ok" : "fault")}");
                if (ok) p.Values[page] = v;
                else Assert.Equal(mapped ? FaultKind.AccessViolation : FaultKind.NoRegion, f.LastFault);
            }
            else if (op < 80)
            {
                var st = f.Read(word, out ulong v);
                bool ok = mapped && prot != VmaProtection.None;
                Assert.True((st == AccessStatus.Ok) == ok, $"{ctx}: read 0x{word:x} gave {st} ({f.LastFault}), model says {(ok ? "ok" : "fault")}");
                if (ok) Assert.True(v == p.Values.GetValueOrDefault(page), $"{ctx}: read 0x{word:x} = 0x{v:x}, model 0x{p.Values.GetValueOrDefault(page):x}");
            }
            else if (op < 85 && procs.Count < 8)
            {
                var c = f.Blank();
                Assert.Equal(Status.Ok, f.M.Fork(s, c, ref f.Arch));
                procs.Add(new Proc { Space = (nint)c, Values = new(p.Values), Pages = new(p.Pages) });
            }
            else if (op < 88 && procs.Count > 1)
            {
                f.Switch(null);
                Assert.Equal(Status.Ok, f.M.Destroy(s, ref f.Arch));
                procs.Remove(p);
            }
            else if (op < 92)
            {
                ulong n = (ulong)rng.Next(1, 6);
                Assert.Equal(Status.Ok, f.M.Unmap(s, page, n * 4096, ref f.Arch));
                for (ulong i = 0; i < n; i++) { p.Pages.Remove(page + i * 4096); p.Values.Remove(page + i * 4096); }
            }
            else if (op < 96)
            {
                ulong n = (ulong)rng.Next(1, 4);
                var np = (VmaProtection)rng.Next(0, 4);
                bool all = Enumerable.Range(0, (int)n).All(i => p.Pages.ContainsKey(page + (ulong)i * 4096));
                Status st = f.M.Protect(s, page, n * 4096, np, ref f.Arch);
                Assert.True(st == (all ? Status.Ok : Status.NotMapped), $"{ctx}: protect gave {st}");
                if (all) for (ulong i = 0; i < n; i++) p.Pages[page + i * 4096] = np;
            }
            else if (op < 98)
            {
                Status st = f.M.MapAnonymous(s, page, 4096, VmaProtection.ReadWrite, out _);
                Assert.True(st == (mapped ? Status.Overlap : Status.Ok), $"{ctx}: map gave {st}");
                if (!mapped) p.Pages[page] = VmaProtection.ReadWrite;
            }
            else
            {
                f.M.Reclaim((ulong)rng.Next(1, 64), ref f.Arch);
            }
            Assert.True(f.M.UserFrames <= residentLimit, $"{ctx}: {f.M.UserFrames} user frames over the limit {residentLimit}");
            if (step % 97 == 0) f.Validate(ctx);
        }
        f.Validate($"seed {seed} end");
        Assert.True(residentLimit > 1000 || f.M.Counters.PagesOut > 0, $"seed {seed}: the limit should have forced paging");
        f.Switch(null);
        foreach (var p in procs) Assert.Equal(Status.Ok, f.M.Destroy((AddressSpace<TFormat>*)p.Space, ref f.Arch));
        Assert.Equal(free0, f.FreeFrames);
        Assert.Equal(0UL, f.M.UserFrames);
        Assert.Equal(0u, f.M.Slots.UsedCount);
    }
}

public sealed class UserRandomTests64 : UserRandomTests<X86LongModeFormat> { }
public sealed class UserRandomTests32 : UserRandomTests<X86LegacyFormat> { }
