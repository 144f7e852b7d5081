// Read one partition the way Spektate and bedrock-cli do: the legacy azure-storage SDK.
// Usage: node read_table.js TABLE PARTITION (connection string in AZURE_STORAGE_CONNECTION_STRING)
const path = require("path");
const azure = require(path.join(process.env.FAB_NODE_MODULES, "azure-storage"));
const [table, partition] = process.argv.slice(2);
const service = azure.createTableService(process.env.AZURE_STORAGE_CONNECTION_STRING);
const query = new azure.TableQuery().where("PartitionKey eq ?", partition);
service.queryEntities(table, query, null, (error, result) => {
  if (error) {
    console.error(error.message);
    process.exit(1);
  }
  console.log(JSON.stringify(result.entries));
});
