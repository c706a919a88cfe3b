using SharpMM.Hosted.Report;
using Xunit;

namespace SharpMM.Tests.Report;

/// <summary>
/// Linux's unusable-free and extfrag indices (mm/vmstat.c), in thousandths, against values
/// worked by hand.
/// </summary>
public class FragmentationIndexTests
{
    // Free blocks: 4 of order 0, 2 of order 1, 1 of order 2, none of order 3.
    //   free pages = 4*1 + 2*2 + 1*4 = 12, free blocks = 7.
    private static readonly ulong[] Mixed = { 4, 2, 1, 0 };

    [Theory]
    // order 0: every free page serves it                 -> (12 - 12*1)/12 = 0
    [InlineData(0, 0)]
    // order 1: 2 + 1*2 = 4 suitable pairs cover 8 pages  -> (12 - 8)/12  = 0.333
    [InlineData(1, 333)]
    // order 2: 1 suitable block covers 4 pages           -> (12 - 4)/12  = 0.666
    [InlineData(2, 666)]
    // order 3: nothing suitable                          -> 12/12        = 1.000
    [InlineData(3, 1000)]
    public void UnusableFree_IsTheShareOfFreePagesInBlocksTooSmall(int order, int expected) =>
        Assert.Equal(expected, FragmentationIndex.UnusableFree(order, Mixed));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Extfrag_IsMinusOne_WhenABlockOfTheOrderIsFree(int order) =>
        Assert.Equal(-1000, FragmentationIndex.Extfrag(order, Mixed));

    [Fact]
    public void Extfrag_OfAFailingOrder_WeighsFreePagesAgainstBlocks()
    {
        // order 3 (8 pages): 1000 - (1000 + 12*1000/8) / 7 = 1000 - 2500/7 = 1000 - 357 = 643
        Assert.Equal(643, FragmentationIndex.Extfrag(3, Mixed));
        // 16 single pages, order 4 wanted: 1000 - (1000 + 16*1000/16) / 16 = 1000 - 125 = 875
        Assert.Equal(875, FragmentationIndex.Extfrag(4, new ulong[] { 16, 0, 0, 0, 0 }));
        // One 2-page block, order 4 wanted: 1000 - (1000 + 2*1000/16) / 1 = 1000 - 1125 -> -125
        // (Linux gives the same: few large blocks short of the order read as lack of memory)
        Assert.Equal(-125, FragmentationIndex.Extfrag(4, new ulong[] { 0, 1, 0, 0, 0 }));
    }

    [Fact]
    public void EmptyZone_IsAllUnusable_AndHasNoExtfrag()
    {
        var none = new ulong[11];
        Assert.Equal(1000, FragmentationIndex.UnusableFree(5, none));
        Assert.Equal(0, FragmentationIndex.Extfrag(5, none));
    }

    [Theory]
    [InlineData(643, "0.643")]
    [InlineData(1000, "1.000")]
    [InlineData(-1000, "-1.000")]
    [InlineData(7, "0.007")]
    [InlineData(-125, "-0.125")]
    public void Format_IsLinuxDebugfsStyle(int thousandths, string text) =>
        Assert.Equal(text, FragmentationIndex.Format(thousandths));
}
