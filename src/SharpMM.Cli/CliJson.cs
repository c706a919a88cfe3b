using System;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpMM.Cli;

/// <summary>
/// The JSON documents the commands print: one object per run, opening with
/// <c>schema_version</c> and <c>command</c>; the layout of each is docs/schemas/COMMAND.schema.json.
/// Names are snake_case and keep one meaning across commands (docs/cli.md lists them).
/// </summary>
internal static class CliJson
{
    /// <summary>The version of every command's document; it changes when a member changes
    /// meaning or goes away (adding a member does not change it). The boot report's own
    /// version (the library's, also on the kernel's SHARPMM-JSON line) is the same number.</summary>
    public const int SchemaVersion = (int)SharpMM.Boot.BootReport.SchemaVersion;

    /// <summary>A new document for <paramref name="command"/>.</summary>
    public static JsonObject Document(string command) => new() { ["schema_version"] = SchemaVersion, ["command"] = command };

    /// <summary>Moves every member of the JSON object <paramref name="json"/> (text the library
    /// wrote) into <paramref name="document"/>, except a schema_version it already has.</summary>
    public static void Merge(JsonObject document, string json)
    {
        var from = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidOperationException("library JSON is not an object");
        foreach (string key in from.Select(kv => kv.Key).ToArray())
        {
            if (document.ContainsKey(key)) continue;
            var value = from[key];
            from.Remove(key);
            document[key] = value;
        }
    }

    /// <summary>A node from a plain .NET value (dictionaries, lists, numbers, strings).</summary>
    public static JsonNode? From(object value) => JsonSerializer.SerializeToNode(value);

    /// <summary>A library name such as "kernel-heap" as the JSON spells names: "kernel_heap".</summary>
    public static string Snake(string name) => name.Replace('-', '_');

    /// <summary>Writes the document as one line on stdout.</summary>
    public static void Write(JsonObject document) => Console.Out.WriteLine(document.ToJsonString());
}
