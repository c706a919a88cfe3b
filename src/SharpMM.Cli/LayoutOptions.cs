using System;
using System.CommandLine;
using System.Linq;
using System.Text.Json.Nodes;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>The address-space layouts the commands boot (--layout), and the layout as JSON.</summary>
internal static class LayoutOptions
{
    /// <summary>Every address-space layout, as the CLI spells it.</summary>
    public static readonly string[] AddressSpaces =
        Enumerable.Range((int)LayoutId.I386HigherHalf, LayoutId.X86_64 - LayoutId.I386HigherHalf + 1)
                  .Select(i => AddressSpaceLayout.NameOf((LayoutId)i)).ToArray();

    /// <summary>--layout for pagetable and translate: one of <see cref="AddressSpaces"/>.</summary>
    public static Option<string> AddressSpace() =>
        CliOptions.Choice("--layout", "Kernel address-space layout whose boot sequence runs on the MMU model.", "x86_64", AddressSpaces);

    /// <summary>The id of a name <see cref="AddressSpace"/> accepted.</summary>
    public static LayoutId Id(string name) =>
        AddressSpaceLayout.TryParse(name, out LayoutId id) ? id : throw new UsageException($"unknown layout '{name}'");

    /// <summary>Runs layout <paramref name="id"/>'s boot sequence on <paramref name="raw"/>; a
    /// map the layout does not fit (no usable RAM where it puts its image and boot tables) is
    /// bad input, refused with the reason.</summary>
    public static LayoutBoot Boot(LayoutId id, MemoryMap raw, string source) =>
        LayoutBoot.TryRun(id, raw, out LayoutBoot? boot, out string? error) == Status.Ok
            ? boot! : throw new UsageException($"{source}: {error}");

    /// <summary>{name, address_bits, regions [{kind, start, end, user, grows_down}]}.</summary>
    public static JsonObject Json(in AddressSpaceLayout layout)
    {
        var regions = new JsonArray();
        for (int i = 0; i < layout.Count; i++)
        {
            LayoutRegion r = layout[i];
            regions.Add(new JsonObject
            {
                ["kind"] = CliJson.Snake(RegionNames.Name(r.Kind)), ["start"] = r.Start, ["end"] = r.End,
                ["user"] = r.User, ["grows_down"] = r.GrowsDown,
            });
        }
        return new JsonObject { ["name"] = layout.Name, ["address_bits"] = layout.AddressBits, ["regions"] = regions };
    }

    /// <summary>What <see cref="LayoutBoot.Log"/> says, one array element per line.</summary>
    public static JsonArray Steps(LayoutBoot boot) =>
        new(boot.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (JsonNode?)JsonValue.Create(l.TrimEnd())).ToArray());
}
