using System.Collections.Generic;
using System.Text.Json.Nodes;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;

namespace SharpMM.Cli;

/// <summary>
/// `pagetable --json` and `translate --json`: a layout's final page tables and the walk of one
/// address, as the text (PageTableDump) shows them: runs of leaves contiguous in virtual space
/// with the same page size and effective flags (Accessed and Dirty left out), the table and leaf
/// counts, and each level of a walk with its entry and decoded bits.
/// </summary>
internal static class PageTableJson
{
    /// <summary>{format, root_phys, runs [{start, end, bytes, page_size, flags}], tables [{level, count}],
    /// table_bytes, leaves [{page_size, count}]}.</summary>
    public static JsonObject Tables(LayoutBoot boot) =>
        boot.Layout.AddressBits == 32 ? Tables<X86LegacyFormat>(boot) : Tables<X86LongModeFormat>(boot);

    /// <summary>{address, canonical, format, root_phys, steps [...], mapped, page {...}|null, mmu {...}}.</summary>
    public static JsonObject Walk(LayoutBoot boot, ulong va) =>
        boot.Layout.AddressBits == 32 ? Walk<X86LegacyFormat>(boot, va) : Walk<X86LongModeFormat>(boot, va);

    /// <summary>The MMU model's answer for a supervisor read of <paramref name="va"/>:
    /// {result: ok|page_fault|general_protection, phys?, error_code?}.</summary>
    public static JsonObject Mmu(LayoutBoot boot, ulong va)
    {
        var r = boot.Mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out ulong pa);
        var o = new JsonObject();
        if (r == TranslationResult.Ok) { o["result"] = "ok"; o["phys"] = pa; }
        else if (r == TranslationResult.PageFault) { o["result"] = "page_fault"; o["error_code"] = (ulong)boot.Mmu.LastFault.Error; }
        else o["result"] = "general_protection";
        return o;
    }

    /// <summary>The flags as the text's columns name them, as booleans.</summary>
    public static JsonObject Flags(PageFlags f) => new()
    {
        ["user"] = (f & PageFlags.User) != 0,
        ["writable"] = (f & PageFlags.Writable) != 0,
        ["executable"] = (f & PageFlags.Executable) != 0,
        ["global"] = (f & PageFlags.Global) != 0,
        ["write_through"] = (f & PageFlags.WriteThrough) != 0,
        ["cache_disable"] = (f & PageFlags.CacheDisable) != 0,
    };

    private static Mapper<TFormat, DirectMapTableAccess> FinalTables<TFormat>(LayoutBoot boot) where TFormat : struct, IPagingFormat =>
        new(boot.FinalRoot, new DirectMapTableAccess(boot.Machine.DirectMap));

    private static JsonObject Tables<TFormat>(LayoutBoot boot) where TFormat : struct, IPagingFormat
    {
        var mapper = FinalTables<TFormat>(boot);
        var leaves = new LeafList { Leaves = new List<LeafMapping>() };
        mapper.Visit(ref leaves);
        var runs = new JsonArray();
        int i = 0;
        while (i < leaves.Leaves.Count)
        {
            // The text's rule (PageTableDump): LeafRun merges the leaves that continue a run.
            LeafRun r = LeafRun.Of(leaves.Leaves[i]);
            int j = i + 1;
            while (j < leaves.Leaves.Count && r.TryExtend(leaves.Leaves[j])) j++;
            var run = new JsonObject
            {
                ["start"] = r.Start,
                // Exclusive; a run that ends the address space ends at 2^64, which JSON numbers here
                // cannot hold: end is null and bytes says how far it goes.
                ["end"] = r.Last == ulong.MaxValue ? null : r.Last + 1,
                ["bytes"] = r.Bytes,
                ["page_size"] = 1UL << (int)r.Size,
                ["flags"] = Flags(r.Flags),
            };
            runs.Add(run);
            i = j;
        }
        TableCensus census = leaves.Census;
        var tables = new JsonArray();
        for (int level = TFormat.Levels - 1; level >= 0; level--)
            if (census.Tables(level) != 0) tables.Add(new JsonObject { ["level"] = TFormat.LevelName(level), ["count"] = census.Tables(level) });
        var leafCounts = new JsonArray();
        for (int level = 0; level < TFormat.Levels; level++)
            if (census.Leaves(level) != 0) leafCounts.Add(new JsonObject { ["page_size"] = 1UL << TFormat.IndexShift(level), ["count"] = census.Leaves(level) });
        return new JsonObject
        {
            ["format"] = TFormat.Name, ["root_phys"] = mapper.RootPhys, ["runs"] = runs,
            ["tables"] = tables, ["table_bytes"] = census.TotalTables * PageSize.Bytes, ["leaves"] = leafCounts,
        };
    }

    private static JsonObject Walk<TFormat>(LayoutBoot boot, ulong va) where TFormat : struct, IPagingFormat
    {
        var mapper = FinalTables<TFormat>(boot);
        var doc = new JsonObject { ["address"] = va, ["canonical"] = TFormat.IsCanonical(va), ["format"] = TFormat.Name, ["root_phys"] = mapper.RootPhys };
        var steps = new JsonArray();
        doc["steps"] = steps;
        doc["mapped"] = false;
        doc["page"] = null;
        if (TFormat.IsCanonical(va))
        {
            PageWalk walk = mapper.Walk(VirtAddr.NewUnchecked(va));
            for (int i = 0; i < walk.Count; i++)
            {
                WalkStep s = walk[i];
                var step = new JsonObject
                {
                    ["level"] = TFormat.LevelName(s.Level), ["index"] = s.Index, ["table_phys"] = s.TablePhys, ["entry"] = s.Entry,
                    ["present"] = TFormat.IsPresent(s.Entry),
                };
                if (TFormat.IsPresent(s.Entry))
                {
                    var bits = new JsonArray();
                    string? previous = null;
                    for (int bit = 0; bit < 64; bit++)
                    {
                        if ((s.Entry & (1UL << bit)) == 0) continue;
                        string? name = TFormat.BitName(s.Level, s.Entry, bit);
                        if (name == null || ReferenceEquals(name, previous)) continue; // a multi-bit field once
                        bits.Add(name);
                        previous = name;
                    }
                    step["bits"] = bits;
                    step["points_to"] = TFormat.IsLeaf(s.Level, s.Entry) ? "page" : "table";
                    step["target_phys"] = TFormat.Address(s.Level, s.Entry);
                }
                steps.Add(step);
            }
            if (walk.Result == Status.Ok && mapper.Translate(VirtAddr.NewUnchecked(va), out Translation t) == Status.Ok)
            {
                PageFlags allowed = LeafMapping.WalkRights;
                for (int i = 0; i + 1 < walk.Count; i++) allowed &= TFormat.PointerRights(walk[i].Level, walk[i].Entry);
                doc["mapped"] = true;
                doc["page"] = new JsonObject
                {
                    ["phys"] = t.Phys.Value, ["page_size"] = 1UL << (int)t.Size, ["flags"] = Flags(LeafMapping.Restrict(t.Flags, allowed)),
                };
            }
        }
        doc["mmu"] = Mmu(boot, va);
        return doc;
    }

    // Collects every leaf in ascending order and counts tables and leaves.
    private struct LeafList : IPageTableVisitor
    {
        public List<LeafMapping> Leaves;
        public TableCensus Census;

        public void Table(int level, ulong firstVa, ulong tablePhys) => Census.Table(level, firstVa, tablePhys);

        public void Leaf(in LeafMapping m)
        {
            Census.Leaf(m);
            Leaves.Add(m);
        }
    }
}
