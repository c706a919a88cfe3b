using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Hosted.Workloads;

namespace SharpMM.Cli;

/// <summary>`sharpmm bench W4`: the page-table workload, reported like the C reference bench/peers/mmu.c.</summary>
internal static class BenchW4
{
    public static int Run(double scale, int reps, bool json, Progress progress)
    {
        long m = Math.Max(1, (long)(10_000_000 * scale));
        var runs = new List<W4Result>();
        progress.Update("bench W4: making the arena and the draws");
        using var setup = new W4Setup(m);   // the arena and the draws, made once as the C reference's
        for (int r = -1; r < reps; r++)   // one untimed warm-up run
        {
            progress.Update(BenchCommand.Step("W4", r, reps));
            var res = MmuWorkloads.W4(setup);
            if (r >= 0) runs.Add(res);
        }
        progress.Dispose();
        double Med(Func<W4Result, double> f) { var v = runs.Select(f).OrderBy(x => x).ToList(); return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2; }
        double map = Med(r => r.MapNs), walk = Med(r => r.WalkNs), hit = Med(r => r.HitNs), unmap = Med(r => r.UnmapNs);
        if (json)
        {
            var doc = CliJson.Document("bench");
            doc["workload"] = "W4";
            doc["scale"] = scale;
            doc["reps"] = reps;
            doc["translations"] = m;
            doc["map_ns"] = Math.Round(map, 2);
            doc["walk_ns"] = Math.Round(walk, 2);
            doc["hit_ns"] = Math.Round(hit, 2);
            doc["unmap_ns"] = Math.Round(unmap, 2);
            doc["table_pages"] = runs[0].TablePages;
            CliJson.Write(doc);
            return ExitCode.Done;
        }
        Console.WriteLine($"sharpmm W4 map 4K (seq VA, tables zeroed) : median {map,6:F2} ns/page  tables={runs[0].TablePages}");
        Console.WriteLine($"sharpmm W4 translate, TLB miss (4-lvl walk): median {walk,6:F2} ns");
        Console.WriteLine($"sharpmm W4 translate, TLB hit              : median {hit,6:F2} ns");
        Console.WriteLine($"sharpmm W4 unmap 4K (random order, invlpg) : median {unmap,6:F2} ns/page");
        return ExitCode.Done;
    }
}
