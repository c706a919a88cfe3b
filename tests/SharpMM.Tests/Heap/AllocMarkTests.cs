using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>The packed allocated-bit mark: word and bit come back as packed, for lower-half and
/// canonical higher-half bitmap addresses, and the bit mask sets exactly that bit.</summary>
public unsafe class AllocMarkTests
{
    [Theory]
    [InlineData(0x0000_0000_0010_0008UL, 0u)]
    [InlineData(0x0000_7fff_ffff_fff8UL, 63u)]
    [InlineData(0xffff_8000_0000_0010UL, 17u)]
    [InlineData(0xffff_ffff_ffff_fff8UL, 42u)]
    public void Pack_RoundTrips_WordAndBit(ulong wordAddress, uint bit)
    {
        ulong mark = AllocMark.Pack((ulong*)wordAddress, bit);
        Assert.Equal(wordAddress, (ulong)AllocMark.Word(mark));
        Assert.Equal(bit, AllocMark.BitIndex(mark));
        Assert.Equal(1UL << (int)bit, AllocMark.Bit(mark));
    }

    // Expect: object 130's bit is bit 2 of the bitmap's third word.
    [Fact]
    public void Of_NamesTheObjectsWordAndBit()
    {
        ulong* bits = stackalloc ulong[3];
        bits[0] = bits[1] = bits[2] = 0;
        ulong mark = AllocMark.Of(bits, 130);
        Assert.True(AllocMark.Word(mark) == bits + 2);
        Assert.Equal(2u, AllocMark.BitIndex(mark));
        *AllocMark.Word(mark) |= AllocMark.Bit(mark);
        Assert.Equal(0UL, bits[0] | bits[1]);
        Assert.Equal(4UL, bits[2]);
    }
}
