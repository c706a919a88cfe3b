using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;
using U = SharpMM.Boot.MemoryType;

namespace SharpMM.Tests.Boot;

/// <summary>
/// Geometry tests: each draws the raw entries over an address axis (K = 0x1000 unless said
/// otherwise, M = 1 MiB) and states the expected result on one "Expect" line.
/// </summary>
public class MapSanitizerTests
{
    private const ulong M = 0x100000;
    private const ulong K = 0x1000;

    private static MemoryMap Sanitize(MemoryMap raw)
    {
        var clean = new MemoryMap();
        var status = MapSanitizer.Sanitize(ref raw, ref clean, out var error);
        Assert.True(status == Status.Ok, Describe(error));
        Assert.Null(CheckSanitized(clean));
        return clean;
    }

    [Fact]
    public void SortsByStart()
    {
        //   2M       4M       6M       8M
        //   |  usable |        | usable |
        //            |reserved|
        // (given in the order: 6M, 4M, 2M)
        // Expect: usable [2M,4M), reserved [4M,6M), usable [6M,8M)
        var clean = Sanitize(Map((6 * M, 8 * M, U.Usable), (4 * M, 6 * M, U.Reserved), (2 * M, 4 * M, U.Usable)));
        Assert.Equal(new[] { (2 * M, 4 * M, U.Usable), (4 * M, 6 * M, U.Reserved), (6 * M, 8 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void Overlap_HigherTypeWins_SplitsRam()
    {
        //   2M                        8M
        //   |---------usable----------|
        //         |--reserved--|
        //         4M           6M
        // Expect: usable [2M,4M), reserved [4M,6M), usable [6M,8M)
        var clean = Sanitize(Map((2 * M, 8 * M, U.Usable), (4 * M, 6 * M, U.Reserved)));
        Assert.Equal(new[] { (2 * M, 4 * M, U.Usable), (4 * M, 6 * M, U.Reserved), (6 * M, 8 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void Overlap_PartialOnBothSides()
    {
        //   2M          5M
        //   |--ACPI data-|
        //          4M           7M
        //          |--ACPI NVS--|
        //                  6M          9M
        //                  |--reserved--|
        // Expect: ACPI data [2M,4M), ACPI NVS [4M,7M), reserved [7M,9M)   (NVS=4 beats reserved=2)
        var clean = Sanitize(Map((2 * M, 5 * M, U.AcpiData), (4 * M, 7 * M, U.AcpiNvs), (6 * M, 9 * M, U.Reserved), (16 * M, 32 * M, U.Usable)));
        Assert.Equal(new[] { (2 * M, 4 * M, U.AcpiData), (4 * M, 7 * M, U.AcpiNvs), (7 * M, 9 * M, U.Reserved), (16 * M, 32 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void AdjacentSameType_Merge_DuplicatesCollapse()
    {
        //   2M     3M     4M     5M
        //   |usable|usable|usable|
        //          |usable|             (duplicate)
        // Expect: usable [2M,5M)
        var clean = Sanitize(Map((2 * M, 3 * M, U.Usable), (3 * M, 4 * M, U.Usable), (4 * M, 5 * M, U.Usable), (3 * M, 4 * M, U.Usable)));
        Assert.Equal(new[] { (2 * M, 5 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void EmptyEntries_Dropped()
    {
        //   2M                 4M
        //   |------usable-------|
        //          ^ zero-length reserved at 3M
        // Expect: usable [2M,4M)
        var clean = Sanitize(Map((2 * M, 4 * M, U.Usable), (3 * M, 3 * M, U.Reserved), (0, 0, U.Reserved)));
        Assert.Equal(new[] { (2 * M, 4 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void UsableAlignedInward_SliversDropped()
    {
        //   0x200800                 0x203800
        //   |----------usable---------|
        //   page 0x200000 and 0x203000 are partial
        // Expect: usable [0x201000, 0x203000)
        var clean = Sanitize(Map((0x200800, 0x203800, U.Usable)));
        Assert.Equal(new[] { (0x201000UL, 0x203000UL, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void ReservedIsNotAligned()
    {
        //   0x200000           0x300000
        //   |------usable-------|
        //        |res|  0x250100-0x250300
        // Expect: usable [0x200000,0x250000), reserved [0x250100,0x250300), usable [0x251000,0x300000)
        var clean = Sanitize(Map((0x200000, 0x300000, U.Usable), (0x250100, 0x250300, U.Reserved)));
        Assert.Equal(new[] { (0x200000UL, 0x250000UL, U.Usable), (0x250100UL, 0x250300UL, U.Reserved), (0x251000UL, 0x300000UL, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void Page0_IsReserved()
    {
        //   0     0x1000                0x9fc00
        //   |--------------usable--------|
        // Expect: reserved [0,0x1000), usable [0x1000,0x9f000)   (+ RAM at 1M)
        var clean = Sanitize(Map((0, 0x9fc00, U.Usable), (M, 2 * M, U.Usable)));
        Assert.Equal(new[] { (0UL, K, U.Reserved), (K, 0x9f000UL, U.Usable), (M, 2 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void Page0_ReservedMergesWithFollowingReserved()
    {
        //   0      0x800    0x1000    0x3000
        //   |usable|---reserved--------|
        // Expect: reserved [0,0x3000)
        var clean = Sanitize(Map((0, 0x800, U.Usable), (0x800, 0x3000, U.Reserved), (M, 2 * M, U.Usable)));
        Assert.Equal(new[] { (0UL, 0x3000UL, U.Reserved), (M, 2 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void StraddlingTheIsaHole()
    {
        //   0x80000       0xA0000                 0x100000        0x180000
        //   |----------------------usable-----------------------------|
        //                 |=========== ISA hole ===========|
        // Expect: usable [0x80000,0xA0000), reserved [0xA0000,0x100000), usable [0x100000,0x180000)
        var clean = Sanitize(Map((0x80000, 0x180000, U.Usable)));
        Assert.Equal(new[] { (0x80000UL, 0xA0000UL, U.Usable), (0xA0000UL, M, U.Reserved), (M, 0x180000UL, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void StraddlingPage0AndTheIsaHole_WithFirmwareReservedInside()
    {
        //   0        0x1000                     0xA0000   0xF0000   0x100000   0x200000
        //   |------------------------usable-----------------------------------------|
        //                                                 |reserved-|
        // Expect: reserved [0,0x1000), usable [0x1000,0xA0000), reserved [0xA0000,0x100000), usable [0x100000,0x200000)
        var clean = Sanitize(Map((0, 2 * M, U.Usable), (0xF0000, M, U.Reserved)));
        Assert.Equal(new[] { (0UL, K, U.Reserved), (K, 0xA0000UL, U.Usable), (0xA0000UL, M, U.Reserved), (M, 2 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void NonRamTypesInTheIsaHole_KeepTheirType()
    {
        //   0xE0000     0xF0000    0x100000
        //   |ACPI data--|          |usable..
        // Expect: ACPI data [0xE0000,0xF0000), usable [1M, 2M)
        var clean = Sanitize(Map((0xE0000, 0xF0000, U.AcpiData), (M, 2 * M, U.Usable)));
        Assert.Equal(new[] { (0xE0000UL, 0xF0000UL, U.AcpiData), (M, 2 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void TopOfAddressSpace_NoOverflow()
    {
        //   2M     4M             0xffff_ffff_ffff_0000    2^64 (End = MaxValue)
        //   |usable|                     |-----usable--------|
        //                                |res|  0xffff_ffff_ffff_0000 + 0x1000
        // Expect: usable [2M,4M), reserved [..0000, ..1000), usable [..1000, ..f000)  (last partial page trimmed)
        const ulong top = 0xffff_ffff_ffff_0000;
        var clean = Sanitize(Map((2 * M, 4 * M, U.Usable), (top, ulong.MaxValue, U.Usable), (top, top + K, U.Reserved)));
        Assert.Equal(new[] { (2 * M, 4 * M, U.Usable), (top, top + K, U.Reserved), (top + K, 0xffff_ffff_ffff_f000UL, U.Usable) }, Entries(clean));

        var reservedTop = Sanitize(Map((2 * M, 4 * M, U.Usable), (top, ulong.MaxValue, U.Reserved)));
        Assert.Equal((top, ulong.MaxValue, U.Reserved), Entries(reservedTop)[1]);

        var sliverAtTop = Sanitize(Map((2 * M, 4 * M, U.Usable), (ulong.MaxValue - 0x10, ulong.MaxValue, U.Usable)));
        Assert.Single(Entries(sliverAtTop));
    }

    [Fact]
    public void SoftReserved_WinsEveryOverlap()
    {
        //   2M                     6M
        //   |-------ACPI NVS--------|
        //        |soft reserved|
        //        3M            5M
        // Expect: ACPI NVS [2M,3M), soft reserved [3M,5M), ACPI NVS [5M,6M)
        var clean = Sanitize(Map((2 * M, 6 * M, U.AcpiNvs), (3 * M, 5 * M, U.SoftReserved), (8 * M, 9 * M, U.Usable)));
        Assert.Equal(new[] { (2 * M, 3 * M, U.AcpiNvs), (3 * M, 5 * M, U.SoftReserved), (5 * M, 6 * M, U.AcpiNvs), (8 * M, 9 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void EndBeforeStart_NamesTheEntry_SanitizedUnchanged()
    {
        var raw = Map((2 * M, 4 * M, U.Usable), (8 * M, 6 * M, U.Reserved));
        var clean = Map((K, 2 * K, U.Reserved));
        Assert.Equal(Status.EndBeforeStart, MapSanitizer.Sanitize(ref raw, ref clean, out var error));
        Assert.Equal("entry 1: end before start", Describe(error));
        Assert.Equal(new[] { (K, 2 * K, U.Reserved) }, Entries(clean));
    }

    [Fact]
    public void NoUsableRam_IsEmptyMap()
    {
        var clean = Map((K, 2 * K, U.Reserved));
        var onlyReserved = Map((2 * M, 4 * M, U.Reserved));
        Assert.Equal(Status.EmptyMap, MapSanitizer.Sanitize(ref onlyReserved, ref clean, out var error));
        Assert.Equal("no usable RAM", error.Reason);

        // usable only in page 0, the ISA hole or as sub-page slivers is no usable RAM either
        var onlyLow = Map((0, 0x800, U.Usable), (0xA0000, 0xC0000, U.Usable), (0x200100, 0x200f00, U.Usable));
        Assert.Equal(Status.EmptyMap, MapSanitizer.Sanitize(ref onlyLow, ref clean, out _));
        var empty = new MemoryMap();
        Assert.Equal(Status.EmptyMap, MapSanitizer.Sanitize(ref empty, ref clean, out _));
        Assert.Single(Entries(clean));
    }

    [Fact]
    public void OutputOverCapacity_IsNoSpace()
    {
        // 255 reserved holes punched into one usable range give 511 pieces.
        var raw = new MemoryMap();
        raw.Add(M, 1024 * M, U.Usable);
        for (ulong i = 0; i < 255; i++) raw.Add(2 * M + i * 2 * M, 3 * M + i * 2 * M, U.Reserved);
        var clean = new MemoryMap();
        Assert.Equal(Status.NoSpace, MapSanitizer.Sanitize(ref raw, ref clean, out var error));
        Assert.Equal(0, clean.Count);
        Assert.Contains("256", error.Reason);
    }

    [Fact]
    public void SameMapTwice_IsRefused()
    {
        var raw = Map((2 * M, 4 * M, U.Usable));
        Assert.Equal(Status.InvalidArgument, MapSanitizer.Sanitize(ref raw, ref raw, out _));
    }

    [Fact]
    public void TypeZeroEntries_AreHoles()
    {
        //   2M                 6M
        //   |------usable-------|
        //        |type 0|
        // Expect: usable [2M,6M) unchanged
        var clean = Sanitize(Map((2 * M, 6 * M, U.Usable), (3 * M, 4 * M, (U)0)));
        Assert.Equal(new[] { (2 * M, 6 * M, U.Usable) }, Entries(clean));
    }

    [Fact]
    public void LinuxSanitizeExample()
    {
        // The example from the comment above Linux's e820__update_table, one column = 1 MiB from 16M:
        //   ____22__________________
        //   ______________________4_
        //   ____1111________________
        //   _44_____________________
        //   11111111________________
        //   ____________________33__
        //   ___________44___________
        //   __________33333_________
        //   ______________22________
        //   ___________________2222_
        //   _________111111111______
        //   _____________________11_
        //   _________________4______
        // Expect: 1_44_1_22_11___1_3_44_33_2_1_4_2_33_4 as Linux's sanitized equivalent
        string[] rows =
        {
            "____22__________________", "______________________4_", "____1111________________",
            "_44_____________________", "11111111________________", "____________________33__",
            "___________44___________", "__________33333_________", "______________22________",
            "___________________2222_", "_________111111111______", "_____________________11_",
            "_________________4______",
        };
        var raw = new MemoryMap();
        foreach (var row in rows)
        {
            int s = row.IndexOfAny("1234".ToCharArray()), e = row.LastIndexOfAny("1234".ToCharArray()) + 1;
            raw.Add(16 * M + (ulong)s * M, 16 * M + (ulong)e * M, (U)(row[s] - '0'));
        }
        var clean = Sanitize(raw);
        string[] expected =
        {
            "1_______________________", "_44_____________________", "___1____________________",
            "____22__________________", "______11________________", "_________1______________",
            "__________3_____________", "___________44___________", "_____________33_________",
            "_______________2________", "________________1_______", "_________________4______",
            "___________________2____", "____________________33__", "______________________4_",
        };
        Assert.Equal(expected.Length, clean.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            int s = expected[i].IndexOfAny("1234".ToCharArray()), e = expected[i].LastIndexOfAny("1234".ToCharArray()) + 1;
            Assert.Equal((16 * M + (ulong)s * M, 16 * M + (ulong)e * M, (U)(expected[i][s] - '0')), Entries(clean)[i]);
        }
    }

    [Fact]
    public void RawMap_IsNotModified()
    {
        var raw = Map((6 * M, 8 * M, U.Usable), (0, 0x9fc00, U.Usable), (7 * M, 7 * M, U.Reserved));
        var before = Entries(raw);
        var clean = new MemoryMap();
        Assert.Equal(Status.Ok, MapSanitizer.Sanitize(ref raw, ref clean, out _));
        Assert.Equal(before, Entries(raw));
    }
}
