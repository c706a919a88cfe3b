using SharpMM.Cli;
using Xunit;

namespace SharpMM.Tests.Cli;

/// <summary>The one parser of the command line's sizes, numbers and addresses.</summary>
public class CliValuesTests
{
    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("128M", 128UL << 20)]
    [InlineData("6G", 6UL << 30)]
    [InlineData("512MiB", 512UL << 20)]
    [InlineData("1.5G", 3UL << 29)]
    [InlineData("4k", 4096UL)]
    [InlineData("2T", 2UL << 40)]
    public void Size_Accepted(string text, ulong bytes)
    {
        Assert.True(CliValues.TryParseSize(text, 1, ulong.MaxValue, out ulong v, out string e), e);
        Assert.Equal(bytes, v);
    }

    [Theory]
    [InlineData("", "is not a size")]
    [InlineData("M", "is not a size")]
    [InlineData("12Q", "is not a size")]
    [InlineData("-1M", "is not a size")]
    [InlineData("1e3", "is not a size")]
    [InlineData("0.3", "is not a whole number of bytes")]
    [InlineData("99999999999999999999T", "is out of range")]
    [InlineData("1K", "is out of range: give 2 MiB to 16 TiB")]
    public void Size_Refused(string text, string message)
    {
        Assert.False(CliValues.TryParseSize(text, 2UL << 20, 16UL << 40, out _, out string e));
        Assert.Contains(message, e);
    }

    [Theory]
    [InlineData("abc", "is not a whole number")]
    [InlineData("-1", "is negative: give 1 to 64")]
    [InlineData("1.5", "is not a whole number")]
    [InlineData("65", "is out of range: give 1 to 64")]
    [InlineData("99999999999999999999999", "is out of range")]
    public void Integer_Refused(string text, string message)
    {
        Assert.False(CliValues.TryParseInteger(text, 1, 64, out _, out string e));
        Assert.Contains(message, e);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e400")]
    [InlineData("abc")]
    public void Real_NotFinite_Refused(string text)
    {
        Assert.False(CliValues.TryParseReal(text, 0.001, 100, out _, out string e));
        Assert.Contains("is not a finite number", e);
    }

    [Theory]
    [InlineData("1e-300")]
    [InlineData("0")]
    [InlineData("100.5")]
    public void Real_OutOfRange_Refused(string text)
    {
        Assert.False(CliValues.TryParseReal(text, 0.001, 100, out _, out string e));
        Assert.Contains("is out of range: give 0.001 to 100", e);
    }

    [Theory]
    [InlineData("0xffffffff80100000", 0xffffffff80100000UL)]
    [InlineData("c0100000", 0xc0100000UL)]
    [InlineData("0X1000", 0x1000UL)]
    [InlineData("0x0000000000000000001000", 0x1000UL)]
    public void Address_Accepted(string text, ulong va)
    {
        Assert.True(CliValues.TryParseAddress(text, out ulong v, out string e), e);
        Assert.Equal(va, v);
    }

    [Theory]
    [InlineData("0x")]
    [InlineData("0x1ffffffffffffffff")]
    [InlineData("0xg000")]
    [InlineData("-0x10")]
    public void Address_Refused(string text)
    {
        Assert.False(CliValues.TryParseAddress(text, out _, out string e));
        Assert.Contains("is not a 64-bit hexadecimal address", e);
    }
}
