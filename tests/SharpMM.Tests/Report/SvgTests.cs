using SharpMM.Cli.Report;
using Xunit;

namespace SharpMM.Tests.Report;

/// <summary>How the report writes sizes and ranges for a reader.</summary>
public class SvgTests
{
    [Theory]
    [InlineData(4UL << 20, "4 MiB")]
    [InlineData(4092UL << 10, "4092 KiB")]
    [InlineData(917216UL << 10, "895.7 MiB")]
    [InlineData(100UL, "100 bytes")]
    [InlineData(3000UL, "2.9 KiB")]
    public void Size_IsExactWhenShort_ElseOneDecimal(ulong bytes, string text) => Assert.Equal(text, Svg.Size(bytes));

    [Fact]
    public void Size_OfTheWhole64BitSpace_IsInEiB() => Assert.Equal("16 EiB", Svg.Size(System.Math.Pow(2, 64)));

    [Fact]
    public void Range_IsHalfOpenHexWithItsSize() => Assert.Equal("[0x1000, 0x9f000) 632 KiB", Svg.Range(0x1000, 0x9f000));
}
