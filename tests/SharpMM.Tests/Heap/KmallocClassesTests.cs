using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>kmalloc's classes: Linux's list with 96 and 192; the constant lookup table agrees
/// with the definition for every request size, and its source is the text generated from the
/// definition.</summary>
public class KmallocClassesTests
{
    [Fact]
    public void Classes_AreLinuxs_With96And192()
    {
        uint[] expect = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192 };
        Assert.Equal(KmallocClasses.Count, expect.Length);
        for (int i = 0; i < expect.Length; i++) Assert.Equal(expect[i], KmallocClasses.Size(i));
        Assert.Equal("kmalloc-96", KmallocClasses.Name(4));
        Assert.Equal("kmalloc-8k", KmallocClasses.Name(12));
    }

    // Expect: for every n in 1..8192 the table names the smallest class that holds n.
    [Fact]
    public void Table_GivesTheSmallestClassThatFits_ForEverySize()
    {
        Assert.Equal(1025, KmallocClasses.Table.Length);
        for (uint n = 1; n <= KmallocClasses.MaxSmall; n++)
        {
            int c = KmallocClasses.Table[(int)((n + 7) >> 3)];
            Assert.Equal(KmallocClasses.ClassOf(n), c);
            Assert.True(KmallocClasses.Size(c) >= n, $"size {n}");
            Assert.True(c == 0 || KmallocClasses.Size(c - 1) < n, $"size {n}");
        }
    }

    // Expect: the initializer of KmallocClasses.Table in the source is exactly the text generated
    // from ClassOf (32 entries a line); on a change of the classes this prints the new one.
    [Fact]
    public void TableSource_IsGeneratedFromTheDefinition()
    {
        string source = File.ReadAllText(SourcePath());
        const string open = "public static ReadOnlySpan<byte> Table => new byte[]\n    {\n";
        int start = source.IndexOf(open, System.StringComparison.Ordinal);
        Assert.True(start >= 0, "Table initializer not found in KmallocClasses.cs");
        start += open.Length;
        int end = source.IndexOf("    };", start, System.StringComparison.Ordinal);
        string expected = GeneratedInitializer();
        Assert.True(source.Substring(start, end - start) == expected,
            "KmallocClasses.Table differs from the definition; replace its entries with:\n" + expected);
    }

    /// <summary>The table's entries as C# source: entry k is the class of requests of 8k bytes.</summary>
    private static string GeneratedInitializer()
    {
        var sb = new StringBuilder();
        int entries = (int)(KmallocClasses.MaxSmall / 8) + 1;
        for (int k = 0; k < entries; k++)
        {
            if (k % 32 == 0) sb.Append("        ");
            sb.Append(KmallocClasses.ClassOf((ulong)k * 8)).Append(',');
            sb.Append(k % 32 == 31 || k == entries - 1 ? "\n" : " ");
        }
        return sb.ToString();
    }

    private static string SourcePath([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "src", "SharpMM", "Heap", "KmallocClasses.cs"));
}
