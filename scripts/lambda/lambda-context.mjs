/**
 * The context object Lambda's nodejs runtime hands a handler, for the local runners
 * (./warm-runner.mjs, test/reliability/helpers/local-lambda-runner.mjs): the fields the
 * handlers and Powertools read, with the remaining time counted down to `deadline` (epoch ms).
 */
export function lambdaContext(requestId, name, deadline) {
  return {
    awsRequestId: requestId,
    functionName: name,
    functionVersion: '$LATEST',
    memoryLimitInMB: '256',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: name,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}
