using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit;

namespace SharpMM.Tests.Architecture;

/// <summary>
/// The library's folders are layers, and a layer may use only the layers below it
/// (docs/architecture.md):
/// <code>
///   User        address spaces, faults, fork, reclaim
///   Heap        slab caches, kmalloc (and the boot report with the heap's members)
///   Virtual     kernel layouts, VA ranges, vmalloc
///   Paging      formats, the mapper (the one page-table walker), flushes
///   Boot        firmware maps, memblock, the boot sequence and its report
///   Physical    frame allocators and the interfaces memblock talks to them through
///   Concurrency CPUs, spin locks, the lock order
///   Diagnostics text and JSON writers
///   Addressing  PhysAddr, VirtAddr, Pfn, ranges
///   (SharpMM)   Status, Panic: every layer
/// </code>
/// Read from the sources: every <c>using SharpMM.X</c> and every qualified <c>SharpMM.X.</c>
/// outside comments, in every file under src/SharpMM/&lt;Layer&gt;/. A new folder fails until
/// it is given its place here and in the document.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Bottom first: each may use those before it.</summary>
    public static readonly string[] Layers = { "Addressing", "Diagnostics", "Concurrency", "Physical", "Boot", "Paging", "Virtual", "Heap", "User" };

    private static string LibraryRoot([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "src", "SharpMM"));

    private static readonly Regex Reference = new(@"\bSharpMM\.([A-Z][A-Za-z0-9]*)", RegexOptions.Compiled);

    /// <summary>(file, line number, layer used) for each reference outside comments.</summary>
    public static IEnumerable<(string File, int Line, string Used)> References(string file)
    {
        string[] lines = File.ReadAllLines(file);
        bool inBlock = false;
        for (int n = 0; n < lines.Length; n++)
        {
            string code = lines[n];
            if (inBlock)
            {
                int close = code.IndexOf("*/", StringComparison.Ordinal);
                if (close < 0) continue;
                code = code[(close + 2)..];
                inBlock = false;
            }
            int open = code.IndexOf("/*", StringComparison.Ordinal);
            if (open >= 0) { inBlock = !code[open..].Contains("*/"); code = code[..open]; }
            int comment = code.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0) code = code[..comment];
            if (code.TrimStart().StartsWith("namespace ", StringComparison.Ordinal)) continue;
            foreach (Match m in Reference.Matches(code)) yield return (file, n + 1, m.Groups[1].Value);
        }
    }

    [Fact]
    public void EveryFolderOfTheLibrary_IsALayer()
    {
        string root = LibraryRoot();
        Assert.True(Directory.Exists(root), $"library sources not found at {root}");
        // A layer is a folder of C# sources; build/ holds the package's MSBuild targets, not code.
        var folders = Directory.GetDirectories(root)
            .Where(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories).Any())
            .Select(Path.GetFileName).Where(d => d is not ("bin" or "obj")).ToList();
        Assert.NotEmpty(folders);
        foreach (string? f in folders) Assert.True(Layers.Contains(f), $"src/SharpMM/{f} has no place in LayeringTests.Layers (and docs/architecture.md)");
    }

    [Fact]
    public void EachLayer_UsesOnlyTheLayersBelowIt()
    {
        string root = LibraryRoot();
        var violations = new List<string>();
        int checkedReferences = 0;
        for (int rank = 0; rank < Layers.Length; rank++)
        {
            string dir = Path.Combine(root, Layers[rank]);
            foreach (string file in Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories))
                foreach (var (f, line, used) in References(file))
                {
                    checkedReferences++;
                    int usedRank = Array.IndexOf(Layers, used);
                    if (usedRank < 0 || usedRank > rank || (usedRank == rank && used != Layers[rank]))
                        violations.Add($"{Path.GetRelativePath(root, f)}:{line}: {Layers[rank]} uses SharpMM.{used}");
                }
        }
        // The root files (Status, Panic) are used by every layer and use none.
        foreach (string file in Directory.GetFiles(root, "*.cs"))
            foreach (var (f, line, used) in References(file))
                violations.Add($"{Path.GetFileName(f)}:{line}: the root namespace uses SharpMM.{used}");
        Assert.True(checkedReferences > 50, $"only {checkedReferences} references found: is the scan reading the sources?");
        Assert.True(violations.Count == 0, "references against the layer order:\n" + string.Join("\n", violations));
    }

    /// <summary>The scan itself: a using of a higher layer, a qualified name in code, and the
    /// same in comments (ignored).</summary>
    [Fact]
    public void TheScan_FindsReferencesInCode_AndIgnoresComments()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, new[]
            {
                "using SharpMM.Heap;",
                "namespace SharpMM.Physical;",
                "/// <see cref=\"SharpMM.User.Vma\"/>",
                "class C { SharpMM.Paging.PageFlags f; } // SharpMM.Boot",
                "/* SharpMM.Virtual",
                "   SharpMM.Virtual */ int x;",
            });
            var found = References(file).Select(r => (r.Line, r.Used)).ToList();
            Assert.Equal(new[] { (1, "Heap"), (4, "Paging") }, found);
        }
        finally { File.Delete(file); }
    }
}
