using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>kmalloc's classes: Linux's list with 96 and 192; the constant lookup table agrees
/// with the definition for every request size.</summary>
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
}
