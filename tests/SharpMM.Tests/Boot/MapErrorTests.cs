using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public class MapErrorTests
{
    [Fact]
    public void WritesPositionAndReason()
    {
        Assert.Equal("line 7: end before start", Describe(new MapError { Status = Status.EndBeforeStart, Kind = MapErrorKind.Line, Index = 7, Reason = "end before start" }));
        Assert.Equal("entry 3: length overflows", Describe(new MapError { Status = Status.Overflow, Kind = MapErrorKind.Entry, Index = 3, Reason = "length overflows" }));
        Assert.Equal("tag 2: tag size below 8", Describe(new MapError { Status = Status.Malformed, Kind = MapErrorKind.Tag, Index = 2, Reason = "tag size below 8" }));
        Assert.Equal("no usable RAM", Describe(new MapError { Status = Status.EmptyMap, Reason = "no usable RAM" }));
        Assert.Equal("Ok", Describe(default));
    }
}
