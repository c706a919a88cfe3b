using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Json.Schema;
using Xunit;

namespace SharpMM.Tests.Cli;

/// <summary>The JSON Schemas of docs/schemas/ (copied next to the tests), and validation of a
/// command's output against its schema.</summary>
public static class CliSchemas
{
    public static JsonSchema For(string command) =>
        JsonSchema.FromFile(Path.Combine(AppContext.BaseDirectory, "schemas", $"{command}.schema.json"), new BuildOptions { SchemaRegistry = new SchemaRegistry() });

    /// <summary>The errors of <paramref name="json"/> against the schema of <paramref name="command"/>, one per line ("" when valid).</summary>
    public static string Errors(string command, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var result = For(command).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return "";
        return string.Join('\n', (result.Details ?? new System.Collections.Generic.List<EvaluationResults>())
            .Where(d => d.Errors != null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}")));
    }

    /// <summary>Asserts stdout is exactly one JSON document, valid against the command's schema;
    /// returns it.</summary>
    public static JsonDocument AssertValid(string command, CliResult r)
    {
        Assert.True(r.Exit == 0, $"exit {r.Exit}; stderr: {r.Stderr}");
        string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        string errors = Errors(command, lines[0]);
        Assert.True(errors == "", $"{command} --json output does not match docs/schemas/{command}.schema.json:\n{errors}");
        return JsonDocument.Parse(lines[0]);
    }
}
